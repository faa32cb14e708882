# The libraries' folders and their files, for the checks that read them (check_layers.cmake,
# check_globals.cmake): autodiff, optim, io, svd (without svd/tool, the program), mpi and the bench helper.
set(TAPEGRAD_LIBRARIES autodiff optim io svd mpi bench/helper)

# library_files(<lib> <out>): the .hpp, .cpp and .inc files of library <lib> below ROOT (none if its folder
# is missing), the tool left out.
function(library_files lib out)
  set(files "")
  if(IS_DIRECTORY "${ROOT}/${lib}")
    file(GLOB_RECURSE all "${ROOT}/${lib}/*.hpp" "${ROOT}/${lib}/*.cpp" "${ROOT}/${lib}/*.inc")
    foreach(f IN LISTS all)
      file(RELATIVE_PATH rel "${ROOT}" "${f}")
      if(NOT rel MATCHES "^svd/tool/")  # the tool sits above every library
        list(APPEND files "${f}")
      endif()
    endforeach()
  endif()
  set(${out} "${files}" PARENT_SCOPE)
endfunction()
