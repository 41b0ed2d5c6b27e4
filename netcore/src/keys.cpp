#include "netcore/keys.hpp"

namespace netcore {

namespace {
int nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

std::optional<PublicKey> parse_key(std::string_view hex) {
    while (!hex.empty() && (hex.front() == ' ' || hex.front() == '\t' || hex.front() == '\n' ||
                            hex.front() == '\r'))
        hex.remove_prefix(1);
    while (!hex.empty() && (hex.back() == ' ' || hex.back() == '\t' || hex.back() == '\n' ||
                            hex.back() == '\r'))
        hex.remove_suffix(1);
    if (hex.size() != 2 * kKeySize) return std::nullopt;
    PublicKey key{};
    for (std::size_t i = 0; i < kKeySize; ++i) {
        const int hi = nibble(hex[2 * i]);
        const int lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        key[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    return key;
}

std::string to_hex(std::span<const std::uint8_t, kKeySize> key) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * kKeySize);
    for (const auto b : key) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 0xF]);
    }
    return out;
}

}  // namespace netcore
