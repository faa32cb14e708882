# tapegrad_set_warnings(target): the project's warning flags, as errors when TAPEGRAD_WERROR is on.
function(tapegrad_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic $<$<BOOL:${TAPEGRAD_WERROR}>:-Werror>)
  if(TAPEGRAD_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
