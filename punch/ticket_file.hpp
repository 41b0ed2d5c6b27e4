// punch — the resumption ticket file (--ticket): read at start when it holds a ticket, written
// once registered, so the next run from the same port skips the Challenge round trip
// (docs/PROTOCOL.md §6 step 1).
#pragma once

#include <optional>
#include <string>

#include "netcore/ticket.hpp"

namespace punch {

/// The ticket in `path`. Nothing when there is no such file (`warning` empty), or when the file
/// does not hold one (`warning` says so in one sentence: a stale or damaged ticket only costs
/// the Challenge round trip, so it is no reason to stop).
[[nodiscard]] std::optional<netcore::ResumeTicket> load_ticket(const std::string& path,
                                                               std::string& warning);

/// Writes `ticket` to `path` (mode 0600, replaced whole: written beside it, then renamed).
/// False, with `error` in one sentence, when it cannot.
bool save_ticket(const std::string& path, const netcore::ResumeTicket& ticket, std::string& error);

}  // namespace punch
