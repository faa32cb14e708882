# The layering rule (docs/architecture.md, cmake/check_layers.cmake): no library includes a layer above it;
# and the check fails on a tree where one does.
add_test(NAME "layers: no library includes a layer above it"
         COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR} -P ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake)
add_test(NAME "layers: the check fails on a forbidden include"
         COMMAND ${CMAKE_COMMAND} -DCHECKER=${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake
                 -DWORK=${CMAKE_CURRENT_BINARY_DIR}/layers_forbidden -P ${CMAKE_CURRENT_SOURCE_DIR}/layers/forbidden.cmake)
