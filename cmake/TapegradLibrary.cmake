# tapegrad_add_library(NAME [EXPORT_SET SET] SOURCES...): the library tapegrad_NAME (the file's name too) with its
# alias tapegrad::NAME, exported as NAME; position-independent, C++20, the project's warnings; the calling
# directory's include/ as its public headers, installed with it; installed in the export set SET (default
# tapegradTargets, the one the package config always loads).
function(tapegrad_add_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "EXPORT_SET" "")
  if(NOT arg_EXPORT_SET)
    set(arg_EXPORT_SET tapegradTargets)
  endif()
  set(target tapegrad_${name})
  add_library(${target} ${arg_UNPARSED_ARGUMENTS})
  add_library(tapegrad::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME ${target} POSITION_INDEPENDENT_CODE ON)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
                                              $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  tapegrad_set_warnings(${target})
  install(TARGETS ${target} EXPORT ${arg_EXPORT_SET})
  install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()

# tapegrad_link_cblas(TARGET): TARGET calls CBLAS (cblas.h), with TAPEGRAD_HAVE_BLAS defined; nothing when the
# build has no OpenBLAS (TAPEGRAD_HAVE_BLAS off).
function(tapegrad_link_cblas target)
  if(TAPEGRAD_HAVE_BLAS)
    target_compile_definitions(${target} PRIVATE TAPEGRAD_HAVE_BLAS)
    target_include_directories(${target} PRIVATE ${TAPEGRAD_CBLAS_INCLUDE_DIR})
    target_link_libraries(${target} PRIVATE BLAS::BLAS)
  endif()
endfunction()
