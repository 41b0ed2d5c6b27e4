// The rendezvous server's key file (server_key.hpp): created privately, read back, refused when
// it is not a key or others may read it.
#include <catch2/catch.hpp>

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "server_key.hpp"

using rendezvous::load_or_create_key;
using rendezvous::make_ephemeral_key;
using rendezvous::ServerKey;

namespace {

// A fresh directory under $TMPDIR, removed with whatever the test left in it.
struct TempDir {
    std::string path;
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string name = std::string(base != nullptr ? base : "/tmp") + "/server_key-XXXXXX";
        REQUIRE(::mkdtemp(name.data()) != nullptr);
        path = name;
    }
    ~TempDir() {
        ::chmod(path.c_str(), 0700);
        const std::string command = "rm -rf '" + path + "'";
        [[maybe_unused]] const int rc = std::system(command.c_str());
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

void write_file(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    REQUIRE(::chmod(path.c_str(), mode) == 0);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

netcore::PublicKey public_of(const netcore::SecretKey& secret) {
    netcore::PublicKey pk{};
    REQUIRE(crypto_scalarmult_base(pk.data(), secret.data()) == 0);
    return pk;
}

const std::string kSecretHex = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
// RFC 7748 §6.1: Alice's public key for the secret above.
const std::string kPublicHex = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

}  // namespace

TEST_CASE("a missing key file is created with mode 0600 and read back as the same key",
          "[unit][server_key]") {
    const TempDir dir;
    const std::string path = dir.path + "/rendezvous.key";
    bool created = false;
    std::string error;
    const auto first = load_or_create_key(path, &created, &error);
    REQUIRE(first.has_value());
    CHECK(created);
    CHECK(error.empty());

    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    const std::string text = read_file(path);
    CHECK(text == netcore::to_hex(first->secret_key) + "\n");
    // Nothing left beside it: the temporary file was renamed over the key file.
    const std::string listing = "ls -A '" + dir.path + "' | grep -v '^rendezvous.key$'";
    CHECK(std::system(listing.c_str()) != 0);

    const auto second = load_or_create_key(path, &created, &error);
    REQUIRE(second.has_value());
    CHECK_FALSE(created);
    CHECK(second->public_key == first->public_key);
    CHECK(second->secret_key == first->secret_key);
}

TEST_CASE("the public key is derived from the secret in the file (X25519 base point)",
          "[unit][server_key]") {
    const TempDir dir;
    const std::string path = dir.path + "/key";
    write_file(path, kSecretHex, 0600);  // no newline: also accepted
    const auto key = load_or_create_key(path, nullptr, nullptr);
    REQUIRE(key.has_value());
    CHECK(netcore::to_hex(key->public_key) == kPublicHex);

    bool created = true;
    const auto made = load_or_create_key(dir.path + "/new", &created, nullptr);
    REQUIRE(made.has_value());
    CHECK(made->public_key == public_of(made->secret_key));

    const ServerKey ephemeral = make_ephemeral_key();
    CHECK(ephemeral.public_key == public_of(ephemeral.secret_key));
    CHECK(make_ephemeral_key().public_key != ephemeral.public_key);
}

TEST_CASE("a key file that group or others may read is refused, telling to chmod 600",
          "[unit][server_key]") {
    const TempDir dir;
    const std::string path = dir.path + "/rendezvous.key";
    for (const mode_t mode : {0640u, 0604u, 0620u, 0644u}) {
        write_file(path, kSecretHex + "\n", mode);
        std::string error;
        CHECK_FALSE(load_or_create_key(path, nullptr, &error).has_value());
        CHECK(error.find(path) != std::string::npos);
        CHECK(error.find("chmod 600 " + path) != std::string::npos);
        CHECK(error.find(kSecretHex) == std::string::npos);
    }
    write_file(path, kSecretHex + "\n", 0400);  // read-only for its owner is fine
    CHECK(load_or_create_key(path, nullptr, nullptr).has_value());
}

TEST_CASE("a file that is not 64 hex digits and a newline is refused, naming the file",
          "[unit][server_key]") {
    const TempDir dir;
    const std::string path = dir.path + "/rendezvous.key";
    for (const std::string& text :
         {std::string(), std::string("\n"), kSecretHex.substr(0, 62) + "\n", kSecretHex + "00\n",
          kSecretHex + "\n\n", kSecretHex + " \n", " " + kSecretHex, kSecretHex + "\r\n",
          kSecretHex.substr(0, 63) + "g\n", kPublicHex + "\n" + kSecretHex + "\n",
          std::string(4096, 'a')}) {
        write_file(path, text, 0600);
        bool created = true;
        std::string error;
        CHECK_FALSE(load_or_create_key(path, &created, &error).has_value());
        CHECK_FALSE(created);
        CHECK(error == path + ": not a key file (expected 64 hex digits)");
    }
    // The corrupt file is left alone for the operator to look at, not replaced by a new key.
    CHECK(read_file(path) == std::string(4096, 'a'));
    write_file(path, "77076D0A7318A57D3C16C17251B26645DF4C2F87EBC0992AB177FBA51DB92C2A\n", 0600);
    const auto upper = load_or_create_key(path, nullptr, nullptr);
    REQUIRE(upper.has_value());
    CHECK(netcore::to_hex(upper->public_key) == kPublicHex);

    std::string error;
    CHECK_FALSE(load_or_create_key(dir.path, nullptr, &error).has_value());
    CHECK(error == dir.path + ": not a regular file");
}

TEST_CASE("a key file that cannot be created gives an error, not a crash", "[unit][server_key]") {
    const TempDir dir;
    std::string error;
    bool created = true;
    CHECK_FALSE(load_or_create_key(dir.path + "/missing/key", &created, &error).has_value());
    CHECK_FALSE(created);
    CHECK(error == "cannot create " + dir.path + "/missing/key: No such file or directory");

    write_file(dir.path + "/file", "x", 0600);
    CHECK_FALSE(load_or_create_key(dir.path + "/file/key", nullptr, &error).has_value());
    CHECK(error == dir.path + "/file/key: cannot read: Not a directory");

    // A directory we may not write to (root writes anywhere, so only checked as another user).
    const std::string locked = dir.path + "/locked";
    REQUIRE(::mkdir(locked.c_str(), 0500) == 0);
    if (::geteuid() != 0) {
        CHECK_FALSE(load_or_create_key(locked + "/key", nullptr, &error).has_value());
        CHECK(error == "cannot create " + locked + "/key: Permission denied");
    }
    ::chmod(locked.c_str(), 0700);
}
