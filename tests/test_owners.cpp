// Owned names (PROTOCOL.md §4.13, issue 11 point 3): a name bound to an Ed25519 key outlives its
// owner's runs, a new run of the owner takes it back at once, a proof is worth nothing on another
// connection, and the bindings survive a restart through the names file, written atomically.
#include <sodium.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "loopback.hpp"
#include "owners.hpp"
#include "rendezvous_test_support.hpp"

using namespace rendezvous;
using namespace rendezvous::testing;
namespace fs = std::filesystem;

namespace {

constexpr auto kOwned = protocol::RegisterFlags::owned;

// An owner key from a seed byte: the same byte is the same owner, in every run of a test.
netcore::crypto::SignKeyPair owner_key(std::uint8_t seed_byte) {
    std::array<std::uint8_t, 32> seed{};
    seed.fill(seed_byte);
    return netcore::crypto::sign_key_pair(seed);
}

// The unix clock a test moves: a base, so it is set before the Server reads it.
struct UnixClock {
    std::int64_t unix_now = 1'800'000'000;
};

// A Server with a unix clock the test moves.
struct OwnedHarness : UnixClock, Harness {
    explicit OwnedHarness(Config c = {}) : Harness(with_clock(std::move(c), &unix_now)) {}
    static Config with_clock(Config c, std::int64_t* clock) {
        c.unix_clock = [clock] { return *clock; };
        return c;
    }

    // A keyed Register by client run `run` for `name`, its proof made for `run`'s channel
    // (keyed first: the statement needs the salt).
    protocol::RegisterRequest keyed(netcore::Address from, std::uint64_t run, std::string_view name,
                                    const netcore::crypto::SignKeyPair& owner) {
        if (!channel(run).keyed()) hello(from, run);
        protocol::RegisterRequest r{run, name, {}};
        r.flags = kOwned;
        r.owner = owner.public_key;
        r.proof = proof(run, name, owner, channel(run).salt());
        return r;
    }
    protocol::OwnerProof proof(std::uint64_t run, std::string_view name,
                               const netcore::crypto::SignKeyPair& owner,
                               const protocol::Salt& salt) {
        std::array<std::uint8_t, protocol::kOwnerStatementMax> statement{};
        const auto n = protocol::owner_statement(
            server.public_key(), salt, channel(run).key_pair().public_key, name, statement);
        REQUIRE(n > 0);
        return netcore::crypto::sign(owner, std::span(statement).first(n));
    }

    // What the server answered a Register: acked, or the error code.
    std::optional<protocol::RegisterErrorCode> outcome(netcore::Address from,
                                                       const protocol::RegisterRequest& r) {
        const auto sent = send_as(from, r.instance, r);
        REQUIRE(sent.size() == 1);
        protocol::Message m;
        REQUIRE(protocol::decode_inner(sent[0].plain, m) == protocol::DecodeError::ok);
        if (std::holds_alternative<protocol::RegisterAck>(m)) return std::nullopt;
        REQUIRE(std::holds_alternative<protocol::RegisterError>(m));
        return std::get<protocol::RegisterError>(m).code;
    }
};

constexpr auto kOwnedError = protocol::RegisterErrorCode::name_owned;

// A fresh directory under the build's temporary directory, removed at the end.
struct TempDir {
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "netcore-owners-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    [[nodiscard]] std::string file(const char* name) const { return (path / name).string(); }
    fs::path path;
};

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    ::chmod(path.c_str(), 0600);
}

}  // namespace

TEST_CASE("a keyed name survives its owner's absence: others get name_owned, keyed or not",
          "[unit][owners]") {
    OwnedHarness h;
    const auto alice_key = owner_key(1);
    const auto mallory_key = owner_key(2);
    REQUIRE_FALSE(h.outcome(kAlice, h.keyed(kAlice, kAliceRun, "alice", alice_key)));
    CHECK(h.logged("bound alice to its owner key"));

    // Alice leaves. Her name is free in the registry, but still hers.
    h.send(kAlice, protocol::Unregister{kAliceRun});
    h.advance(std::chrono::minutes(10));
    h.unix_now += 600;
    CHECK(h.outcome(kBob, protocol::RegisterRequest{kBobRun, "alice", {}}) == kOwnedError);
    CHECK(h.outcome(kCarol, h.keyed(kCarol, kCarolRun, "alice", mallory_key)) == kOwnedError);
    CHECK(h.server.counters().name_owned == 2);

    // Unkeyed names work as they always did; a keyed name nobody holds is free to bind.
    CHECK_FALSE(h.outcome(kBob, protocol::RegisterRequest{kBobRun, "bob", {}}));
    CHECK(h.server.counters().owned_names == 1);
}

TEST_CASE("the owner's new run takes its name back at once from its still-live crashed run",
          "[unit][owners]") {
    OwnedHarness h;
    const auto key = owner_key(7);
    REQUIRE_FALSE(h.outcome(kAlice, h.keyed(kAlice, kAliceRun, "alice", key)));
    h.registered(kBob, kBobRun, "bob");
    REQUIRE(h.send(kBob, protocol::IntroduceRequest{kBobRun, "alice"}).size() == 2);

    // The game crashed; its entry lives on for up to `expiry`. The new run (another port, another
    // instance, another run key, the same name key) is not kept waiting.
    constexpr std::uint64_t kAliceRun2 = 0xA11CE2;
    const netcore::Address alice2{kAlice.ip, 5001};
    h.advance(std::chrono::seconds(2));
    CHECK_FALSE(h.outcome(alice2, h.keyed(alice2, kAliceRun2, "alice", key)));
    CHECK(h.server.counters().reclaimed == 1);
    CHECK(
        h.logged("released alice at 203.0.113.7:5000: its owner registered again at "
                 "203.0.113.7:5001"));

    // Bob's next request reaches the new run, under a fresh token (the old run's is forgotten).
    const auto sent = h.send(kBob, protocol::IntroduceRequest{kBobRun, "alice"});
    REQUIRE(sent.size() == 2);
    CHECK(sent[1].to == alice2);

    // Without a key, the same crash would have cost the new run name_taken.
    h.registered(kCarol, kCarolRun, "carol");
    const netcore::Address carol2{kCarol.ip, 6001};
    CHECK(h.outcome(carol2, protocol::RegisterRequest{0xCA202, "carol", {}}) ==
          protocol::RegisterErrorCode::name_taken);
}

TEST_CASE("an owner proof copied from another connection is refused", "[unit][owners]") {
    OwnedHarness h;
    const auto key = owner_key(9);
    const auto original = h.keyed(kAlice, kAliceRun, "alice", key);
    REQUIRE_FALSE(h.outcome(kAlice, original));
    h.send(kAlice, protocol::Unregister{kAliceRun});

    SECTION("replayed by another client run (another run key)") {
        auto copied = original;  // Mallory saw it: owner and proof, as sent
        copied.instance = kCarolRun;
        h.hello(kCarol, kCarolRun);
        CHECK(h.outcome(kCarol, copied) == kOwnedError);
    }
    SECTION("signed for another server run (another salt)") {
        h.hello(kCarol, kCarolRun);
        protocol::Salt other_salt = h.channel(kCarolRun).salt();
        other_salt[0] ^= 1;
        auto stale = h.keyed(kCarol, kCarolRun, "alice", key);
        stale.proof = h.proof(kCarolRun, "alice", key, other_salt);
        CHECK(h.outcome(kCarol, stale) == kOwnedError);
    }
    SECTION("signed for another name") {
        auto other = h.keyed(kCarol, kCarolRun, "alice", key);
        other.proof = h.proof(kCarolRun, "alicf", key, h.channel(kCarolRun).salt());
        CHECK(h.outcome(kCarol, other) == kOwnedError);
    }
    CHECK(h.server.counters().owner_proofs_invalid == 1);
    CHECK(h.server.counters().names == 0);
}

TEST_CASE("a binding expires name_hold after its owner was last seen, not while it is online",
          "[unit][owners]") {
    Config c;
    c.name_hold = std::chrono::hours(1);
    OwnedHarness h(c);
    const auto key = owner_key(3);
    REQUIRE_FALSE(h.outcome(kAlice, h.keyed(kAlice, kAliceRun, "alice", key)));

    // Online for three holds: refreshes keep the binding (coarse last-seen, the fast path).
    for (int i = 0; i < 3 * 3600 / 15; ++i) {
        h.advance(std::chrono::seconds(15));
        h.unix_now += 15;
        REQUIRE_FALSE(h.outcome(kAlice, h.keyed(kAlice, kAliceRun, "alice", key)));
        h.server.tick(h.now);
    }
    CHECK(h.server.counters().refreshed_fast > 0);
    CHECK(h.server.counters().owned_names == 1);
    h.send(kAlice, protocol::Unregister{kAliceRun});

    // Offline: held for the hour, then anyone may take the name.
    h.advance(std::chrono::minutes(59));
    h.unix_now += 59 * 60;
    CHECK(h.outcome(kBob, protocol::RegisterRequest{kBobRun, "alice", {}}) == kOwnedError);
    h.advance(std::chrono::minutes(2));
    h.unix_now += 2 * 60;
    CHECK_FALSE(h.outcome(kBob, protocol::RegisterRequest{kBobRun, "alice", {}}));
    h.advance(std::chrono::minutes(2));
    h.server.tick(h.now);
    CHECK(h.server.counters().owned_expired == 1);
    CHECK(h.server.counters().owned_names == 0);
}

TEST_CASE("owned names beyond max_owned_names are refused with server_full", "[unit][owners]") {
    Config c;
    c.max_owned_names = 1;
    OwnedHarness h(c);
    REQUIRE_FALSE(h.outcome(kAlice, h.keyed(kAlice, kAliceRun, "alice", owner_key(1))));
    CHECK(h.outcome(kBob, h.keyed(kBob, kBobRun, "bob", owner_key(2))) ==
          protocol::RegisterErrorCode::server_full);
    CHECK_FALSE(h.outcome(kBob, protocol::RegisterRequest{kBobRun, "bob", {}}));  // unkeyed: fine
}

TEST_CASE("bindings survive a restart of the server through the names file", "[unit][owners]") {
    TempDir dir;
    Config c;
    c.names_file = dir.file("names");
    const auto key = owner_key(5);
    {
        OwnedHarness h(c);
        REQUIRE(h.server.names_error().empty());
        REQUIRE_FALSE(h.outcome(kAlice, h.keyed(kAlice, kAliceRun, "alice", key)));
        h.server.tick(h.now);  // the periodic write
        REQUIRE(fs::exists(c.names_file));
        CHECK((fs::status(c.names_file).permissions() & fs::perms::all) ==
              (fs::perms::owner_read | fs::perms::owner_write));
        CHECK_FALSE(fs::exists(c.names_file + ".tmp"));
        REQUIRE_FALSE(h.outcome(kBob, h.keyed(kBob, kBobRun, "bob", owner_key(6))));
        CHECK(h.server.flush_names().empty());  // the shutdown write
    }
    const std::string text = read_text(c.names_file);
    CHECK(text.find("alice " + netcore::to_hex(key.public_key) + " 1800000000\n") !=
          std::string::npos);

    OwnedHarness restarted(c);  // a new Server: a new salt, an empty registry
    REQUIRE(restarted.server.names_error().empty());
    CHECK(restarted.server.counters().owned_names == 2);
    CHECK(restarted.outcome(kCarol, protocol::RegisterRequest{kCarolRun, "alice", {}}) ==
          kOwnedError);
    CHECK(restarted.outcome(kCarol, restarted.keyed(kCarol, kCarolRun, "bob", owner_key(7))) ==
          kOwnedError);
    CHECK_FALSE(restarted.outcome(kAlice, restarted.keyed(kAlice, kAliceRun, "alice", key)));
}

TEST_CASE("a malformed names file is refused with a sentence naming the line, never overwritten",
          "[unit][owners]") {
    TempDir dir;
    Config c;
    c.names_file = dir.file("names");
    const std::string hex(64, 'a');
    const std::pair<std::string, std::string> cases[] = {
        {"", "empty"},
        {"alice " + hex + " 1\n", ":1: not a names file"},
        {"# netcore rendezvous names v1\nalice " + hex + "\n", ":2: expected 'name key"},
        {"# netcore rendezvous names v1\nal!ce " + hex + " 1\n", ":2: not a valid name"},
        {"# netcore rendezvous names v1\nalice abc 1\n", ":2: the key is not 64 hex"},
        {"# netcore rendezvous names v1\nalice " + hex + " soon\n", ":2: the last-seen time"},
        {"# netcore rendezvous names v1\na " + hex + " 1\na " + hex + " 2\n", ":3: the name is "},
        {"# netcore rendezvous names v1\nalice " + hex + " 1", "cut short"},
    };
    for (const auto& [text, why] : cases) {
        write_text(c.names_file, text);
        OwnedHarness h(c);
        INFO(text);
        CHECK(h.server.names_error().find(why) != std::string::npos);
        // A binding made meanwhile is never written over what could not be read.
        REQUIRE_FALSE(h.outcome(kAlice, h.keyed(kAlice, kAliceRun, "alice", owner_key(1))));
        h.server.tick(h.now);
        CHECK_FALSE(h.server.flush_names().empty());
        CHECK(read_text(c.names_file) == text);
    }
}

TEST_CASE("the names file is replaced atomically: a write that fails midway leaves the old one",
          "[unit][owners]") {
    TempDir dir;
    const std::string path = dir.file("names");
    Owners owners(std::chrono::hours(1), 1000);
    REQUIRE(owners.bind("alice", owner_key(1).public_key, 1'800'000'000));
    REQUIRE(owners.save(path).empty());
    const std::string old_text = read_text(path);
    for (int i = 0; i < 40; ++i)
        REQUIRE(owners.bind("player" + std::to_string(i), owner_key(2).public_key, 1'800'000'000));
    const std::string new_text = owners.to_text();
    REQUIRE(new_text.size() > 2 * old_text.size());

    // A file may grow to no more than the old file's size: the write of the new one fails midway,
    // as on a full disk (and as a crash would stop it). SIGXFSZ ignored: write() fails with EFBIG.
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    rlimit small = saved;
    small.rlim_cur = old_text.size() + 10;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    const std::string why = owners.save(path);
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &saved) == 0);
    std::signal(SIGXFSZ, old_handler);

    CHECK_FALSE(why.empty());
    CHECK(read_text(path) == old_text);  // the old bindings, whole
    CHECK_FALSE(fs::exists(path + ".tmp"));
    CHECK(owners.dirty());  // written again at the next chance
    Owners reloaded(std::chrono::hours(1), 1000);
    CHECK(reloaded.load(path, 1'800'000'000).empty());
    CHECK(reloaded.size() == 1);

    // A stale .tmp a crash left (wider mode, other bytes) does not get in the way.
    write_text(path + ".tmp", "garbage");
    ::chmod((path + ".tmp").c_str(), 0644);
    REQUIRE(owners.save(path).empty());
    CHECK(read_text(path) == new_text);
    CHECK((fs::status(path).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
}

TEST_CASE("a session with a name key keeps its name across a crash and against a stranger",
          "[integration][owners]") {
    using loopback::Lab;
    using loopback::Node;
    using netcore::Error;
    using netcore::EventType;
    Lab lab;
    auto config = lab.config("alice");
    config.name_key = netcore::SecretKey{};
    config.name_key->fill(0x42);

    Node& first = lab.add(config);
    REQUIRE(lab.run_until([&] { return first.count(EventType::registered) == 1; }));
    first.frozen = true;  // the game crashed: its entry stays live for the expiry (45 s)

    Node& second = lab.add(config);  // the game restarted: a new socket, run key and instance
    REQUIRE(lab.run_until([&] {
        return second.count(EventType::registered) == 1 || second.count(EventType::error) == 1;
    }));
    CHECK(second.count(EventType::registered) == 1);
    CHECK(lab.server().counters().reclaimed == 1);

    auto stranger_config = lab.config("alice");  // no key, or another key: refused
    Node& stranger = lab.add(stranger_config);
    stranger_config.name_key = netcore::SecretKey{};
    Node& keyed_stranger = lab.add(stranger_config);
    REQUIRE(lab.run_until([&] {
        return stranger.count(EventType::error) == 1 && keyed_stranger.count(EventType::error) == 1;
    }));
    CHECK(stranger.last(EventType::error)->error == Error::name_owned);
    CHECK(keyed_stranger.last(EventType::error)->error == Error::name_owned);
    CHECK(second.session->state() == netcore::State::registered);
}
