# The layering rule (docs/architecture.md, cmake/check_layers.cmake): no library includes a layer above it;
# and the check fails on a tree where one does.
add_test(NAME "layers: no library includes a layer above it"
         COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR} -P ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake)
add_test(NAME "layers: the check fails on a forbidden include"
         COMMAND ${CMAKE_COMMAND} -DCHECKER=${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake
                 -DWORK=${CMAKE_CURRENT_BINARY_DIR}/layers_forbidden -P ${CMAKE_CURRENT_SOURCE_DIR}/layers/forbidden.cmake)
# No process-wide mutable state in the libraries (cmake/check_globals.cmake); and the check fails on trees
# with each form of it.
add_test(NAME "layers: no process-wide mutable state in a library"
         COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR} -P ${PROJECT_SOURCE_DIR}/cmake/check_globals.cmake)
add_test(NAME "layers: the globals check fails on each form of mutable global state"
         COMMAND ${CMAKE_COMMAND} -DCHECKER=${PROJECT_SOURCE_DIR}/cmake/check_globals.cmake
                 -DWORK=${CMAKE_CURRENT_BINARY_DIR}/layers_globals -P ${CMAKE_CURRENT_SOURCE_DIR}/layers/globals.cmake)
