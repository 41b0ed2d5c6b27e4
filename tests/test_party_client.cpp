// The party client on its own (PROTOCOL.md §4.15): the server's PartyMembers, PartyRefused and
// PartyJoinAsked fed in by hand, time stepped by hand, and what it sends and reports checked.
#include <catch2/catch.hpp>

#include <deque>
#include <initializer_list>
#include <string>
#include <vector>

#include "party.hpp"

using namespace netcore;
using namespace netcore::detail;
using namespace netcore::protocol;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kInstance = 0xABCDEF01ull;

// What the party client sent, as the server would read it (names copied: the client's views
// point into its own state).
struct Sent final : SignalSender {
    struct Join {
        std::string party;
        std::uint8_t flags;
        std::uint32_t epoch;
    };
    std::vector<Join> joins;
    std::vector<std::string> leaves;
    std::vector<std::string> admits;
    bool send_signal(const Message& m) override {
        if (const auto* j = std::get_if<PartyJoin>(&m)) {
            CHECK(j->instance == kInstance);
            joins.push_back({std::string(j->party), j->flags, j->epoch});
        } else if (const auto* l = std::get_if<PartyLeave>(&m)) {
            leaves.emplace_back(l->party);
        } else if (const auto* a = std::get_if<PartyAdmit>(&m)) {
            admits.emplace_back(a->player);
        }
        return true;
    }
    [[nodiscard]] std::uint64_t instance() const override { return kInstance; }
};

struct Fixture {
    netcore::detail::EventQueue events;
    PartyClient party{"alice", Duration(1000), events};
    Sent sent;
    TimePoint now = TimePoint{} + 1h;

    // A PartyMembers for "friday" with `names`, in join order.
    static PartyMembers members(std::uint32_t epoch, std::initializer_list<std::string_view> names,
                                std::string_view party = "friday", std::uint8_t flags = 0) {
        PartyMembers m;
        m.party = party;
        m.epoch = epoch;
        m.flags = flags;
        for (auto n : names) m.push(n);
        return m;
    }

    // The events since the last call, as "type peer".
    std::vector<std::string> take() {
        std::vector<std::string> out;
        for (const auto& e : events) out.push_back(std::string(to_string(e.type)) + " " + e.peer);
        events.clear();
        return out;
    }
    const Event& only_error() {
        REQUIRE(events.size() == 1);
        REQUIRE(events.front().type == EventType::error);
        return events.front();
    }
};

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("a party client asks once registered, then every refresh with the epoch it holds",
          "[party]") {
    Fixture f;
    REQUIRE(f.party.join("friday", {}) == Error::none);
    CHECK(f.party.active());
    CHECK(f.party.party().name == "friday");
    CHECK_FALSE(f.party.party().joined);
    CHECK(f.party.join("saturday", {}) == Error::invalid_state);  // one party at a time
    f.party.update(f.now, false, f.sent);
    CHECK(f.sent.joins.empty());  // not registered yet
    f.party.update(f.now, true, f.sent);
    REQUIRE(f.sent.joins.size() == 1);
    CHECK(f.sent.joins[0].party == "friday");
    CHECK(f.sent.joins[0].epoch == 0);
    CHECK(f.sent.joins[0].flags == 0);
    f.party.update(f.now + 999ms, true, f.sent);
    CHECK(f.sent.joins.size() == 1);
    f.party.update(f.now + 1000ms, true, f.sent);
    REQUIRE(f.sent.joins.size() == 2);
    CHECK(f.sent.joins[1].epoch == 0);

    f.party.on_members(Fixture::members(3, {"bob", "alice"}));
    f.party.update(f.now + 2000ms, true, f.sent);
    REQUIRE(f.sent.joins.size() == 3);
    CHECK(f.sent.joins[2].epoch == 3);
    // Over a minute: one PartyJoin a refresh, no more.
    for (auto t = 2010ms; t <= 62000ms; t += 10ms) f.party.update(f.now + t, true, f.sent);
    CHECK(f.sent.joins.size() == 63);
}

TEST_CASE("a party client's events follow the member lists, lost ones included", "[party]") {
    Fixture f;
    REQUIRE(f.party.join("friday", {}) == Error::none);
    f.party.update(f.now, true, f.sent);

    // Another party's list, and one without us, change nothing.
    f.party.on_members(Fixture::members(5, {"bob", "alice"}, "saturday"));
    f.party.on_members(Fixture::members(5, {"bob", "carol"}));
    CHECK(f.take().empty());
    CHECK_FALSE(f.party.party().joined);

    f.party.on_members(Fixture::members(2, {"bob", "alice"}));
    CHECK(f.take() == Lines{"party_joined bob", "member_joined bob"});
    const Party& p = f.party.party();
    CHECK(p.joined);
    CHECK(p.epoch == 2);
    CHECK(p.host() == "bob");
    CHECK(p.members == std::vector<std::string>{"bob", "alice"});
    CHECK(f.party.is_member("bob"));

    f.party.on_members(Fixture::members(3, {"bob", "alice", "carol"}));
    CHECK(f.take() == Lines{"member_joined carol"});

    // A late copy of an older list, and a repeat of the current one: ignored.
    f.party.on_members(Fixture::members(2, {"bob", "alice"}));
    f.party.on_members(Fixture::members(3, {"bob", "alice", "carol"}));
    CHECK(f.take().empty());
    CHECK(p.members.size() == 3);

    // Epochs 4 (dave joined) and 5 (bob left) were lost: 6 says dave and erin are in, bob gone.
    f.party.on_members(Fixture::members(6, {"alice", "carol", "dave", "erin"}));
    CHECK(f.take() == Lines{"member_joined dave", "member_joined erin", "member_left bob",
                            "host_changed alice"});
    CHECK(p.host() == "alice");
    CHECK(p.epoch == 6);

    // The host leaves: the next oldest leads, and every member computes the same.
    f.party.on_members(Fixture::members(7, {"carol", "dave", "erin"}, "friday"));
    // We are not listed: not ours to act on (the server lists a member list only to members).
    CHECK(f.take().empty());
    f.party.on_members(Fixture::members(8, {"alice", "dave", "erin"}));
    CHECK(f.take() == Lines{"member_left carol"});

    f.party.leave(f.sent);
    CHECK(f.sent.leaves == std::vector<std::string>{"friday"});
    CHECK_FALSE(f.party.active());
    CHECK(f.party.party().name.empty());
    f.party.on_members(Fixture::members(9, {"alice", "dave"}));
    CHECK(f.take().empty());
}

TEST_CASE("a party client tells the refusals apart: waiting keeps asking, the others end the join",
          "[party]") {
    Fixture f;
    REQUIRE(f.party.join("friday", {}) == Error::none);
    f.party.update(f.now, true, f.sent);

    f.party.on_refused(PartyRefused{"friday", PartyRefusedCode::waiting});
    CHECK(f.events.empty());
    CHECK(f.party.active());
    f.party.update(f.now + 1s, true, f.sent);
    CHECK(f.sent.joins.size() == 2);  // still asking
    f.party.on_refused(PartyRefused{"saturday", PartyRefusedCode::full});
    CHECK(f.events.empty());  // not our party

    struct Case {
        PartyRefusedCode code;
        Error error;
        const char* says;
    };
    const Case c = GENERATE(
        Case{PartyRefusedCode::full, Error::party_full, "is full"},
        Case{PartyRefusedCode::server_full, Error::party_refused, "no room"},
        Case{PartyRefusedCode::other_party, Error::party_refused, "another party"},
        Case{PartyRefusedCode::not_registered, Error::party_refused, "does not know our name"});
    f.party.on_refused(PartyRefused{"friday", c.code});
    const Event& e = f.only_error();
    CHECK(e.error == c.error);
    CHECK(e.detail.find(c.says) != std::string::npos);
    CHECK(e.detail.find("friday") != std::string::npos);
    CHECK_FALSE(f.party.active());
    f.party.update(f.now + 5s, true, f.sent);
    CHECK(f.sent.joins.size() == 2);                   // asks no more
    CHECK(f.party.join("friday", {}) == Error::none);  // and may join again
}

TEST_CASE("the host of a party that admits hears each asking player once per 10 s and admits",
          "[party]") {
    Fixture f;
    REQUIRE(f.party.join("friday", PartyOptions{.admit = true}) == Error::none);
    f.party.update(f.now, true, f.sent);
    REQUIRE(f.sent.joins.size() == 1);
    CHECK(f.sent.joins[0].flags == PartyFlags::admit);
    CHECK(f.party.admit("bob", f.sent) == Error::invalid_argument);  // not listed yet

    f.party.on_members(Fixture::members(1, {"alice"}, "friday", PartyFlags::admit));
    CHECK(f.take() == Lines{"party_joined alice"});
    CHECK(f.party.party().admit);

    f.party.on_join_asked(PartyJoinAsked{"friday", "bob"}, f.now);
    f.party.on_join_asked(PartyJoinAsked{"friday", "bob"}, f.now + 5s);   // re-sent: once
    f.party.on_join_asked(PartyJoinAsked{"friday", "bob"}, f.now + 14s);  // still asking
    f.party.on_join_asked(PartyJoinAsked{"saturday", "carol"}, f.now);    // not ours
    CHECK(f.take() == Lines{"join_requested bob"});
    f.party.on_join_asked(PartyJoinAsked{"friday", "bob"}, f.now + 25s);  // stopped, asks anew
    CHECK(f.take() == Lines{"join_requested bob"});

    CHECK(f.party.admit("bob", f.sent) == Error::none);
    CHECK(f.sent.admits == std::vector<std::string>{"bob"});
    CHECK(f.party.admit("bad/name", f.sent) == Error::invalid_argument);

    SECTION("a member that is not the host admits nobody") {
        f.party.on_members(Fixture::members(2, {"carol", "alice"}, "friday", PartyFlags::admit));
        CHECK(f.party.admit("dave", f.sent) == Error::invalid_argument);
        f.party.on_join_asked(PartyJoinAsked{"friday", "dave"}, f.now + 30s);
        CHECK(f.take() == Lines{"member_joined carol", "host_changed carol"});
    }
    SECTION("a party that does not admit has nobody to admit") {
        f.party.on_members(Fixture::members(2, {"alice", "bob"}));
        CHECK_FALSE(f.party.party().admit);
        CHECK(f.party.admit("dave", f.sent) == Error::invalid_argument);
    }
}
