// The rendezvous name table, stepping time by hand.
#include <catch2/catch.hpp>

#include <chrono>

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
