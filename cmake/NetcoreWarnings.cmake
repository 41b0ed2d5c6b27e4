# Warnings for netcore's own targets only (PRIVATE), never for the embedding game.
function(netcore_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wsign-conversion -Wnon-virtual-dtor)
  if(NETCORE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
