// Keys as hex text: how a game build pins the rendezvous server's public key.
#include "netcore/keys.hpp"

namespace netcore {

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

std::optional<PublicKey> parse_key(std::string_view hex) {
    while (!hex.empty() && is_space(hex.front())) hex.remove_prefix(1);
    while (!hex.empty() && is_space(hex.back())) hex.remove_suffix(1);
    if (hex.size() != 2 * kKeySize) return std::nullopt;
    PublicKey key{};
    for (std::size_t i = 0; i < kKeySize; ++i) {
        const int high = hex_value(hex[2 * i]);
        const int low = hex_value(hex[2 * i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        key[i] = static_cast<std::uint8_t>(high * 16 + low);
    }
    return key;
}

std::string to_hex(std::span<const std::uint8_t, kKeySize> key) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * kKeySize);
    for (const std::uint8_t byte : key) {
        out += kDigits[byte >> 4];
        out += kDigits[byte & 0x0f];
    }
    return out;
}

}  // namespace netcore
