# Warnings as errors apply to Egret's own targets only (link egret::warnings),
# never to third-party headers, which are included as SYSTEM.
add_library(egret_warnings INTERFACE)
add_library(egret::warnings ALIAS egret_warnings)
target_compile_options(egret_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX,C>:-Wall -Wextra -Werror -Wno-error=deprecated-declarations>)
