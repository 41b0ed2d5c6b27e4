// netcore — peer-to-peer networking for games. Include this one header.
#pragma once

#include "netcore/address.hpp"  // IWYU pragma: export
#include "netcore/keys.hpp"     // IWYU pragma: export
#include "netcore/session.hpp"  // IWYU pragma: export
#include "netcore/ticket.hpp"   // IWYU pragma: export
#include "netcore/version.hpp"  // IWYU pragma: export
