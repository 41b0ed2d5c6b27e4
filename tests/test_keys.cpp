// Keys as hex text: what a game build pins (netcore/keys.hpp).
#include <catch2/catch.hpp>

#include <cctype>
#include <string>

#include "netcore/keys.hpp"

using netcore::parse_key;
using netcore::PublicKey;
using netcore::to_hex;

namespace {

// A key whose bytes are all different, so a swapped or dropped digit shows.
PublicKey sample_key() {
    PublicKey key{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 7 + 3);
    return key;
}

}  // namespace

TEST_CASE("a key printed as hex parses back to the same key", "[unit][keys]") {
    const PublicKey key = sample_key();
    const std::string hex = to_hex(key);
    CHECK(hex.size() == 64);
    CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(hex.substr(0, 6) == "030a11");
    const auto parsed = parse_key(hex);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == key);

    PublicKey extremes{};
    extremes.fill(0xff);
    extremes[0] = 0x00;
    CHECK(to_hex(extremes) == "00" + std::string(62, 'f'));
    CHECK(parse_key(to_hex(extremes)) == extremes);
}

TEST_CASE("uppercase hex and surrounding whitespace are accepted", "[unit][keys]") {
    const PublicKey key = sample_key();
    std::string upper = to_hex(key);
    for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    CHECK(parse_key(upper) == key);
    CHECK(parse_key("  " + to_hex(key) + "\n") == key);
    CHECK(parse_key("\t" + to_hex(key) + "\r\n") == key);
}

TEST_CASE("a key of the wrong length, with a non-hex digit or inner space is refused",
          "[unit][keys]") {
    const std::string hex = to_hex(sample_key());
    CHECK_FALSE(parse_key(""));
    CHECK_FALSE(parse_key("   "));
    CHECK_FALSE(parse_key(hex.substr(0, 62)));  // 31 bytes
    CHECK_FALSE(parse_key(hex.substr(0, 63)));  // an odd digit count
    CHECK_FALSE(parse_key(hex + "0"));
    CHECK_FALSE(parse_key(hex + "00"));  // 33 bytes
    std::string bad = hex;
    bad[32] = ' ';  // 64 characters, a space among them
    CHECK_FALSE(parse_key(bad));
    CHECK_FALSE(parse_key(hex.substr(0, 32) + " " + hex.substr(32)));
    bad = hex;
    bad[10] = 'g';
    CHECK_FALSE(parse_key(bad));
    bad = hex;
    bad[63] = 'x';
    CHECK_FALSE(parse_key(bad));
    CHECK_FALSE(parse_key("0x" + hex.substr(2)));
    bad = hex;
    bad[20] = '\0';
    CHECK_FALSE(parse_key(bad));
}
