// The resumption ticket's text form: hex of a fixed binary layout, checked field by field.
#include "netcore/ticket.hpp"

#include <algorithm>
#include <span>

#include "hex.hpp"

namespace netcore {

namespace {

constexpr std::array<std::uint8_t, 4> kMagic{'N', 'C', 'R', 'T'};
constexpr std::uint8_t kVersion = 1;

// Writes into a fixed buffer; the layout is fixed, so every put fits.
struct Writer {
    std::array<std::uint8_t, ResumeTicket::kSize> bytes{};
    std::size_t at = 0;
    void put(std::span<const std::uint8_t> b) {
        std::copy(b.begin(), b.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
        at += b.size();
    }
    void put(Address a) {
        const std::array<std::uint8_t, 6> b{
            static_cast<std::uint8_t>(a.ip >> 24),  static_cast<std::uint8_t>(a.ip >> 16),
            static_cast<std::uint8_t>(a.ip >> 8),   static_cast<std::uint8_t>(a.ip),
            static_cast<std::uint8_t>(a.port >> 8), static_cast<std::uint8_t>(a.port)};
        put(b);
    }
};

// Reads a buffer whose size was checked to be kSize before the first read.
struct Reader {
    std::span<const std::uint8_t, ResumeTicket::kSize> bytes;
    std::size_t at = 0;
    template <std::size_t N>
    void get(std::array<std::uint8_t, N>& out) {
        std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(at), N, out.begin());
        at += N;
    }
    Address address() {
        std::array<std::uint8_t, 6> b{};
        get(b);
        return Address{(std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                           (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]},
                       static_cast<std::uint16_t>((b[4] << 8) | b[5])};
    }
};

}  // namespace

std::string ResumeTicket::to_text() const {
    Writer w;
    w.put(kMagic);
    w.put(std::array<std::uint8_t, 1>{kVersion});
    w.put(server);
    w.put(server_key);
    w.put(salt);
    w.put(cookie);
    w.put(observed);
    return detail::to_hex_text(w.bytes);
}

std::optional<ResumeTicket> ResumeTicket::parse(std::string_view text) {
    std::array<std::uint8_t, kSize> bytes{};
    if (!detail::from_hex_text(text, bytes)) return std::nullopt;
    Reader r{bytes};
    std::array<std::uint8_t, 4> magic{};
    std::array<std::uint8_t, 1> version{};
    r.get(magic);
    r.get(version);
    if (magic != kMagic || version[0] != kVersion) return std::nullopt;
    ResumeTicket t;
    t.server = r.address();
    r.get(t.server_key);
    r.get(t.salt);
    r.get(t.cookie);
    t.observed = r.address();
    // A zero cookie means "none" on the wire (§2); zero addresses or ports are no addresses.
    if (t.server.ip == 0 || t.server.port == 0 || t.observed.ip == 0 || t.observed.port == 0 ||
        t.cookie == decltype(t.cookie){})
        return std::nullopt;
    return t;
}

}  // namespace netcore
