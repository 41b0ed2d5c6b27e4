// Fuzzes netcore::ResumeTicket::parse, the decoder of what a game (or punch --ticket) read back
// from a file: one input is one text. Nothing may crash; a ticket that parses must write back
// to the same text (lowercased, trimmed) and parse again to the same ticket, and must carry a
// cookie and non-zero addresses and ports (parse()'s promise).
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "netcore/ticket.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto ticket = netcore::ResumeTicket::parse(text);
    if (!ticket) return 0;
    if (ticket->cookie == decltype(ticket->cookie){} || ticket->server.port == 0 ||
        ticket->server.ip == 0 || ticket->observed.port == 0 || ticket->observed.ip == 0)
        std::abort();
    const std::string written = ticket->to_text();
    if (written.size() != 2 * netcore::ResumeTicket::kSize) std::abort();
    std::string lowered;
    for (const char ch : text)
        if (!std::isspace(static_cast<unsigned char>(ch)))
            lowered += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lowered != written) std::abort();
    if (netcore::ResumeTicket::parse(written) != ticket) std::abort();
    return 0;
}
