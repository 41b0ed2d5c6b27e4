# Finds Nettle 3 (Debian: nettle-dev) and defines the imported target Nettle::Nettle. netcore's
# TURN client takes HMAC-SHA1 and MD5 from it (MESSAGE-INTEGRITY, the long-term credential key).
find_path(Nettle_INCLUDE_DIR NAMES nettle/hmac.h)
find_library(Nettle_LIBRARY NAMES nettle)
if(Nettle_INCLUDE_DIR AND EXISTS "${Nettle_INCLUDE_DIR}/nettle/version.h")
  file(STRINGS "${Nettle_INCLUDE_DIR}/nettle/version.h" _nettle_ver REGEX "#define NETTLE_VERSION_(MAJOR|MINOR) ")
  string(REGEX REPLACE ".*MAJOR ([0-9]+).*" "\\1" _maj "${_nettle_ver}")
  string(REGEX REPLACE ".*MINOR ([0-9]+).*" "\\1" _min "${_nettle_ver}")
  set(Nettle_VERSION "${_maj}.${_min}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Nettle REQUIRED_VARS Nettle_LIBRARY Nettle_INCLUDE_DIR VERSION_VAR Nettle_VERSION)
if(Nettle_FOUND AND NOT TARGET Nettle::Nettle)
  add_library(Nettle::Nettle UNKNOWN IMPORTED)
  set_target_properties(Nettle::Nettle PROPERTIES IMPORTED_LOCATION "${Nettle_LIBRARY}"
                                                  INTERFACE_INCLUDE_DIRECTORIES "${Nettle_INCLUDE_DIR}")
endif()
mark_as_advanced(Nettle_INCLUDE_DIR Nettle_LIBRARY)
