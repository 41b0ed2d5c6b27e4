// Keys as hex text: what a game build pins (netcore/keys.hpp).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <latch>
#include <string>
#include <thread>
#include <vector>

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

namespace {

// A file's whole text (at most 4 KiB).
std::string file_text(const std::string& path) {
    std::string text(4096, '\0');
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return {};
    text.resize(std::fread(text.data(), 1, text.size(), f));
    std::fclose(f);
    return text;
}

}  // namespace

TEST_CASE(
    "processes that make one key file at once all take the first one's key, and none "
    "fails",
    "[unit][keys]") {
    const char* tmp = std::getenv("TMPDIR");
    std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/key_file-XXXXXX";
    REQUIRE(::mkdtemp(dir.data()) != nullptr);
    // Each round, six makers start together on a path with no file: one makes it, the others
    // read it, whether they found it at once or lost the race to make it.
    for (int round = 0; round < 40; ++round) {
        const std::string path = dir + "/key" + std::to_string(round);
        constexpr std::size_t kMakers = 6;
        std::vector<netcore::KeyFile> got(kMakers);
        std::latch go(kMakers);
        std::vector<std::thread> makers;
        for (std::size_t i = 0; i < kMakers; ++i)
            makers.emplace_back([&, i] {
                go.arrive_and_wait();
                got[i] = netcore::load_or_create_key_file(path);
            });
        for (auto& t : makers) t.join();
        int created = 0;
        for (const auto& k : got) {
            INFO(k.error);
            REQUIRE(k.key.has_value());
            CHECK(*k.key == *got[0].key);
            created += k.created ? 1 : 0;
        }
        CHECK(created == 1);
        struct stat st {};
        REQUIRE(::stat(path.c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0600);
        CHECK(file_text(path) == to_hex(*got[0].key) + "\n");
    }
    // Nothing but the key files: every temporary file went.
    const std::string strays = "ls -A '" + dir + "' | grep -v '^key[0-9]*$'";
    CHECK(std::system(strays.c_str()) != 0);
    const std::string remove = "rm -rf '" + dir + "'";
    CHECK(std::system(remove.c_str()) == 0);
}
