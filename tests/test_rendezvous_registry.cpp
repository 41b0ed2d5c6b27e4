// The rendezvous name table, stepping time by hand.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <string>

#include <sodium.h>

#include "introductions.hpp"
#include "registry.hpp"

using namespace rendezvous;
using netcore::Address;
using netcore::protocol::AddressList;
using std::chrono::milliseconds;

namespace {

const TimePoint t0 = TimePoint{} + std::chrono::hours(1);
constexpr milliseconds kExpiry{45000};
const Address kAlice{0xCB007107u, 5000};  // 203.0.113.7:5000
const Address kAliceMoved{0xCB007107u, 5001};
const Address kBob{0xC6336409u, 6000};  // 198.51.100.9:6000

AddressList lan_of(Address a) {
    AddressList l;
    l.push(a);
    return l;
}

}  // namespace

TEST_CASE("a free name is registered and found by name and by address", "[unit][registry]") {
    Registry r(kExpiry, 10);
    const auto lan = lan_of({0xC0A80002u, 5000});
    CHECK(r.add("alice", 1, kAlice, lan, t0).admission == Admission::registered);

    const Entry* by_name = r.find("alice", t0);
    REQUIRE(by_name != nullptr);
    CHECK(by_name->instance == 1);
    CHECK(by_name->address == kAlice);
    CHECK(by_name->lan == lan);
    CHECK(r.find_at(kAlice, t0) == by_name);
    CHECK(r.find("bob", t0) == nullptr);
    CHECK(r.find_at(kBob, t0) == nullptr);
}

TEST_CASE("a name lives expiry after its last Register and a refresh moves the deadline",
          "[unit][registry]") {
    Registry r(kExpiry, 10);
    r.add("alice", 1, kAlice, {}, t0);
    CHECK(r.find("alice", t0 + kExpiry - milliseconds(1)) != nullptr);
    CHECK(r.find("alice", t0 + kExpiry) == nullptr);

    CHECK(r.add("alice", 1, kAlice, {}, t0 + milliseconds(30000)).admission ==
          Admission::refreshed);
    CHECK(r.find("alice", t0 + kExpiry) != nullptr);
    CHECK(r.find("alice", t0 + milliseconds(30000) + kExpiry) == nullptr);
}

TEST_CASE("another instance cannot take a live name but can take an expired one",
          "[unit][registry]") {
    Registry r(kExpiry, 10);
    r.add("alice", 1, kAlice, {}, t0);

    const auto taken = r.add("alice", 2, kBob, {}, t0 + milliseconds(1000));
    CHECK(taken.admission == Admission::name_taken);
    CHECK(taken.other == kAlice);
    CHECK(r.find("alice", t0)->instance == 1);
    CHECK(r.find_at(kBob, t0) == nullptr);

    const auto later = r.add("alice", 2, kBob, {}, t0 + kExpiry);
    CHECK(later.admission == Admission::registered);
    CHECK(later.replaced_expired);
    CHECK(r.find_at(kBob, t0 + kExpiry)->instance == 2);
    CHECK(r.find_at(kAlice, t0 + kExpiry) == nullptr);
    CHECK(r.size() == 1);
}

TEST_CASE("the same instance from a new address moves its name and the address index",
          "[unit][registry]") {
    Registry r(kExpiry, 10);
    r.add("alice", 1, kAlice, {}, t0);
    const auto moved = r.add("alice", 1, kAliceMoved, {}, t0 + milliseconds(10));
    CHECK(moved.admission == Admission::moved);
    CHECK(moved.other == kAlice);
    CHECK(r.find("alice", t0)->address == kAliceMoved);
    CHECK(r.find_at(kAliceMoved, t0) != nullptr);
    CHECK(r.find_at(kAlice, t0) == nullptr);
}

TEST_CASE("a rename from the same address and instance releases the old entry and its slot",
          "[unit][registry]") {
    Registry r(kExpiry, 10);
    r.add("alice", 1, kAlice, {}, t0);
    const auto renamed = r.add("alicia", 1, kAlice, {}, t0);
    CHECK(renamed.admission == Admission::registered);
    REQUIRE(renamed.released);
    CHECK(*renamed.released == "alice");
    CHECK(renamed.release_reason == Release::renamed);
    CHECK(r.find("alice", t0) == nullptr);
    CHECK(r.find_at(kAlice, t0)->name == "alicia");
    CHECK(r.size() == 1);
}

TEST_CASE("a rename to a taken name is refused and keeps the old name", "[unit][registry]") {
    Registry r(kExpiry, 10);
    r.add("alice", 1, kAlice, {}, t0);
    r.add("bob", 2, kBob, {}, t0);
    const auto refused = r.add("bob", 1, kAlice, {}, t0);
    CHECK(refused.admission == Admission::name_taken);
    CHECK_FALSE(refused.released);
    CHECK(r.find_at(kAlice, t0)->name == "alice");
}

TEST_CASE("a new instance on an address drops the old run's name even if its own request fails",
          "[unit][registry]") {
    Registry r(kExpiry, 10);
    r.add("alice", 1, kAlice, {}, t0);
    r.add("bob", 2, kBob, {}, t0);
    // The socket that held "alice" restarted (instance 3) and asks for a name someone else holds.
    const auto out = r.add("bob", 3, kAlice, {}, t0);
    CHECK(out.admission == Admission::name_taken);
    REQUIRE(out.released);
    CHECK(*out.released == "alice");
    CHECK(out.release_reason == Release::new_instance);
    CHECK(r.find("alice", t0) == nullptr);
    CHECK(r.find_at(kAlice, t0) == nullptr);
}

TEST_CASE("a new instance on an address may take the name the old run held", "[unit][registry]") {
    Registry r(kExpiry, 10);
    r.add("alice", 1, kAlice, {}, t0);
    const auto out = r.add("alice", 2, kAlice, {}, t0);
    CHECK(out.admission == Admission::registered);
    CHECK(out.release_reason == Release::new_instance);
    CHECK(r.find("alice", t0)->instance == 2);
}

TEST_CASE("the cap refuses new names but admits refreshes and renames", "[unit][registry]") {
    Registry r(kExpiry, 2);
    r.add("alice", 1, kAlice, {}, t0);
    r.add("bob", 2, kBob, {}, t0);
    CHECK(r.add("carol", 3, Address{0x0A000001u, 1}, {}, t0).admission == Admission::server_full);
    CHECK(r.find("carol", t0) == nullptr);
    CHECK(r.add("alice", 1, kAlice, {}, t0).admission == Admission::refreshed);
    CHECK(r.add("alicia", 1, kAlice, {}, t0).admission == Admission::registered);
    CHECK(r.size() == 2);
}

TEST_CASE("sweep removes exactly the expired names and frees their addresses", "[unit][registry]") {
    Registry r(kExpiry, 10);
    r.add("alice", 1, kAlice, {}, t0);
    r.add("bob", 2, kBob, {}, t0 + milliseconds(5000));
    const auto gone = r.sweep(t0 + kExpiry);
    REQUIRE(gone.size() == 1);
    CHECK(gone.front() == "alice");
    CHECK(r.size() == 1);
    CHECK(r.find_at(kAlice, t0) == nullptr);
    CHECK(r.find("bob", t0 + kExpiry) != nullptr);
}

TEST_CASE("remove frees the name and its address", "[unit][registry]") {
    Registry r(kExpiry, 10);
    r.add("alice", 1, kAlice, {}, t0);
    CHECK(r.remove("alice"));
    CHECK_FALSE(r.remove("alice"));
    CHECK(r.find_at(kAlice, t0) == nullptr);
    CHECK(r.add("alice", 2, kBob, {}, t0).admission == Admission::registered);
}

TEST_CASE("pending introductions are found in either order until their time-to-live",
          "[unit][introductions]") {
    Introductions intros(milliseconds(10000));
    intros.add("alice", "bob", 42, t0);
    const Pending* p = intros.find("bob", "alice", t0 + milliseconds(9999));
    REQUIRE(p != nullptr);
    CHECK(p->token == 42);
    CHECK(p->initiator == "alice");
    CHECK(p->responder == "bob");
    CHECK(intros.find("alice", "bob", t0 + milliseconds(10000)) == nullptr);
    CHECK(intros.sweep(t0 + milliseconds(10000)) == 1);
    CHECK(intros.size() == 0);
}

TEST_CASE("forgetting a name drops every introduction involving it and no other",
          "[unit][introductions]") {
    Introductions intros(milliseconds(10000));
    intros.add("alice", "bob", 1, t0);
    intros.add("carol", "alice", 2, t0);
    intros.add("bob", "carol", 3, t0);
    CHECK(intros.forget("alice") == 2);
    CHECK(intros.size() == 1);
    CHECK(intros.find("bob", "carol", t0) != nullptr);
    CHECK(intros.forget("alice") == 0);
}

TEST_CASE(
    "the table agrees with a plain map through 60 000 random registrations, moves, renames, "
    "takeovers, removals and sweeps",
    "[unit][registry]") {
    // Both indexes grow from nothing, and every removal shifts the runs behind it back: any slot
    // lost or left behind shows as a name or an address the table no longer finds, or finds
    // wrongly. Clients share a small pool of names and addresses, so every path of add() is taken.
    struct Held {
        Address address;
        TimePoint last_seen;
    };
    constexpr std::uint32_t kNames = 3000;
    constexpr std::uint32_t kAddresses = 2500;
    constexpr std::size_t kCap = 1000;
    Registry r(kExpiry, kCap);
    std::map<std::string, Held> model;
    std::mt19937 engine(20261203);  // a failure repeats with the same seed
    auto rng = [&engine] { return static_cast<std::uint32_t>(engine()); };
    TimePoint now = t0;
    auto forget = [&](const std::optional<std::string>& name) {
        if (name) model.erase(*name);
    };
    std::size_t moved = 0, taken = 0, full = 0, renamed = 0, swept = 0;
    for (int op = 0; op < 60000; ++op) {
        now += milliseconds(rng() % 20);
        const std::uint32_t roll = rng() % 100;
        if (roll < 2) {
            const std::string name = "n" + std::to_string(rng() % kNames);
            CHECK(r.remove(name) == (model.erase(name) == 1));
            continue;
        }
        if (roll < 3) {
            for (const std::string& gone : r.sweep(now)) {
                const auto it = model.find(gone);
                REQUIRE(it != model.end());
                CHECK(now - it->second.last_seen >= kExpiry);
                model.erase(it);
                ++swept;
            }
            continue;
        }
        // A client: its run is fixed, and its name and address mostly are.
        const std::uint32_t client = rng() % (kNames + kNames / 4);
        // Now and then under another name (a rename), or from another address (a move).
        const std::string name = "n" + std::to_string((client + (rng() % 10 == 0)) % kNames);
        const Address from{0x0A000000u + (rng() % 4 == 0 ? rng() : client) % kAddresses, 4000};
        const AddOutcome out = r.add(name, client, from, lan_of(from), now);
        forget(out.released);
        renamed += out.released && out.release_reason == Release::renamed;
        switch (out.admission) {
            case Admission::registered:
            case Admission::refreshed:
            case Admission::moved:
                moved += out.admission == Admission::moved;
                model[name] = Held{from, now};
                break;
            case Admission::name_taken:
                ++taken;
                break;
            case Admission::server_full:
                ++full;
                break;
        }
        if (out.replaced_expired) CHECK(out.admission != Admission::name_taken);

        if (op % 1000 != 999) continue;
        // Every so often, the whole table against the model.
        CHECK(r.size() == model.size());
        for (const auto& [held_name, held] : model) {
            const bool alive = now - held.last_seen < kExpiry;
            const Entry* by_name = r.find(held_name, now);
            const Entry* by_address = r.find_at(held.address, now);
            CHECK((by_name != nullptr) == alive);
            CHECK(by_name == by_address);
            if (by_name != nullptr) {
                CHECK(by_name->name == held_name);
                CHECK(by_name->address == held.address);
            }
        }
        for (std::uint32_t i = 0; i < kNames; i += 7) {
            const std::string other = "n" + std::to_string(i);
            if (model.count(other) == 0) CHECK(r.find(other, now) == nullptr);
        }
    }
    // Each path was taken, many times.
    CHECK(moved > 100);
    CHECK(taken > 100);
    CHECK(full > 100);
    CHECK(renamed > 100);
    CHECK(swept > 100);
}

// Hash flooding: an attacker who can compute the table's hash registers names that all start
// their probe at one slot, so each lookup reads every one of them. The attacker here knows the
// code and assumes the all-zero key (what an unkeyed hash amounts to); the table's own key is
// drawn at random, so the same names scatter.
TEST_CASE(
    "names crafted to share one home slot pile up only under the key they were "
    "crafted for; under the table's random key they scatter (hash flooding)",
    "[unit][registry][attack]") {
    REQUIRE(sodium_init() >= 0);
    const Registry::HashKey known{};
    // Names whose hash's low 32 bits are below 2^32/4096 have their home at slot 0 in every
    // table of fewer than 4096 slots (the home is those bits scaled to the table's size).
    constexpr std::size_t kNames = 220;  // 406 slots hold them: a 54% full table
    std::vector<std::string> crafted;
    for (std::uint64_t i = 0; crafted.size() < kNames; ++i) {
        const std::string name = "flood-" + std::to_string(i);
        std::array<unsigned char, crypto_shorthash_BYTES> h{};
        crypto_shorthash(h.data(), reinterpret_cast<const unsigned char*>(name.data()), name.size(),
                         known.data());
        const std::uint32_t low =
            static_cast<std::uint32_t>(h[0]) | static_cast<std::uint32_t>(h[1]) << 8 |
            static_cast<std::uint32_t>(h[2]) << 16 | static_cast<std::uint32_t>(h[3]) << 24;
        if (low < (1u << 20)) crafted.push_back(name);
    }
    const auto register_all = [&](Registry& r) {
        std::uint16_t port = 1000;
        for (const auto& name : crafted)
            REQUIRE(r.add(name, port, {0xCB007107u, port++}, {}, t0).admission ==
                    Admission::registered);
        for (const auto& name : crafted) REQUIRE(r.find(name, t0) != nullptr);
    };

    // The control: under the key they were crafted for, every name sits in one run, and the
    // last lookup reads all of them.
    Registry unkeyed(kExpiry, 1000, known);
    register_all(unkeyed);
    CHECK(unkeyed.longest_probe() == kNames);

    // The defence: the same names under a key drawn at random. At this fill a random table's
    // longest probe is about 10 slots (41 at most in 5 000 simulated tables).
    Registry keyed(kExpiry, 1000);
    register_all(keyed);
    CHECK(keyed.size() == kNames);
    CHECK(keyed.longest_probe() < 100);
}
