# A separate project finds the installed tapegrad with find_package and builds against it, and every
# installed header compiles on its own.
add_test(NAME "install: a consumer project builds against the installed package"
         COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${CMAKE_BINARY_DIR} -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/install_check
                 -DCONSUMER_DIR=${CMAKE_CURRENT_SOURCE_DIR}/install/consumer -DGENERATOR=${CMAKE_GENERATOR}
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/install/check_install.cmake)
set_tests_properties("install: a consumer project builds against the installed package" PROPERTIES TIMEOUT 600)
