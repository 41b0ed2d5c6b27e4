// Keys as hex text: how a game build pins the rendezvous server's public key (and hex.hpp).
#include "netcore/keys.hpp"

#include "hex.hpp"

namespace netcore {

std::optional<PublicKey> parse_key(std::string_view hex) {
    PublicKey key{};
    if (!detail::from_hex_text(hex, key)) return std::nullopt;
    return key;
}

std::string to_hex(std::span<const std::uint8_t, kKeySize> key) {
    return detail::to_hex_text(key);
}

// ---- hex.hpp ------------------------------------------------------------------------------

namespace detail {

namespace {

// The value of one hex digit, or -1.
int hex_value(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

bool is_space(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

}  // namespace

std::string to_hex_text(std::span<const std::uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * bytes.size());
    for (const std::uint8_t byte : bytes) {
        out += kDigits[byte >> 4];
        out += kDigits[byte & 0x0f];
    }
    return out;
}

bool from_hex_text(std::string_view text, std::span<std::uint8_t> out) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    if (text.size() != 2 * out.size()) return false;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int high = hex_value(text[2 * i]);
        const int low = hex_value(text[2 * i + 1]);
        if (high < 0 || low < 0) return false;
        out[i] = static_cast<std::uint8_t>(high * 16 + low);
    }
    return true;
}

}  // namespace detail

}  // namespace netcore
