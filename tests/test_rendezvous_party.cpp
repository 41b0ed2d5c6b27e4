// Parties at the rendezvous (docs/PROTOCOL.md §4.15): the server keeps each party's members in
// join order, introduces a newcomer to every member (joining is consent), tells every member each
// change with a growing epoch, drops members it no longer hears, and caps what one source may
// hold. Server logic through Server::handle with stepped time.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "rendezvous_test_support.hpp"

using namespace rendezvous;
using namespace rendezvous::testing;
using namespace netcore::protocol;
using netcore::Address;
using std::chrono::milliseconds;

namespace {

constexpr std::uint8_t kMutual = 0;  // RegisterFlags: consents to nobody by name

std::vector<Sent> to(const std::vector<Sent>& sent, Address a) {
    std::vector<Sent> out;
    for (const auto& s : sent)
        if (s.to == a) out.push_back(s);
    return out;
}

// The one message of type T sent to `a`, required. Its names view `sent`.
template <typename T>
T only(const std::vector<Sent>& sent, Address a) {
    std::vector<T> found;
    for (const auto& s : sent) {
        if (s.to != a) continue;
        Message m;
        if (decode_inner(s.plain, m) == DecodeError::ok && std::holds_alternative<T>(m))
            found.push_back(std::get<T>(m));
    }
    REQUIRE(found.size() == 1);
    return found[0];
}

template <typename T>
std::size_t count(const std::vector<Sent>& sent) {
    std::size_t n = 0;
    for (const auto& s : sent) {
        Message m;
        if (decode_inner(s.plain, m) == DecodeError::ok && std::holds_alternative<T>(m)) ++n;
    }
    return n;
}

std::vector<std::string> names_of(const PartyMembers& m) {
    return {m.view().begin(), m.view().end()};
}

// A cast of players, each at an IP of its own (198.51.100.0/24, documentation range).
struct Player {
    Address at;
    std::uint64_t run = 0;
    std::string name;
};

Player player(std::uint32_t i) {
    return {Address{0xC6336400u + i, static_cast<std::uint16_t>(7000 + i)}, 0x1000 + i,
            "p" + std::to_string(i)};
}

Player registered(Harness& h, std::uint32_t i, std::uint8_t flags = kMutual) {
    Player p = player(i);
    h.registered(p.at, p.run, p.name, {}, flags);
    return p;
}

std::vector<Sent> join(Harness& h, const Player& p, std::string_view party, std::uint8_t flags = 0,
                       std::uint32_t epoch = 0) {
    return h.send(p.at, PartyJoin{p.run, party, flags, epoch});
}

Config party_config() {
    Config c;
    // The cast shares no IP, but a test sends many requests at one instant.
    c.limits.rate = c.limits.burst = c.limits.answer_rate = c.limits.answer_burst = 1e6;
    return c;
}

// A server with parties and N players registered, p1 to pN: alice, bob and carol (carol is not
// registered when N < 3, nor bob when N < 2).
template <std::uint32_t N>
struct Registered {
    static_assert(N >= 1 && N <= 3);
    Harness h{party_config()};
    Player alice = registered(h, 1);
    Player bob = N >= 2 ? registered(h, 2) : player(2);
    Player carol = N >= 3 ? registered(h, 3) : player(3);

    // Every registered player joins `party`, in order: alice creates it and hosts.
    void all_join(std::string_view party) {
        const Player* const in_order[] = {&alice, &bob, &carol};
        for (std::uint32_t i = 0; i < N; ++i) join(h, *in_order[i], party);
    }
};

}  // namespace

TEST_CASE_METHOD(
    Registered<3>,
    "a party is created by its first member and joined by the next, each introduced to "
    "every member with the party flag, every member told the list with a growing epoch",
    "[unit][party]") {
    const auto created = join(h, alice, "friday");
    REQUIRE(created.size() == 1);
    const auto first = only<PartyMembers>(created, alice.at);
    CHECK(first.party == "friday");
    CHECK(first.epoch == 1);
    CHECK(first.flags == 0);
    CHECK(names_of(first) == std::vector<std::string>{"p1"});
    CHECK(h.logged("p1 created party friday (open)"));

    const auto joined = join(h, bob, "friday");
    CHECK(joined.size() == 4);  // an Introduction and the list to each
    const auto to_bob = only<Introduction>(joined, bob.at);
    const auto to_alice = only<Introduction>(joined, alice.at);
    CHECK(to_bob.peer == "p1");
    CHECK(to_bob.peer_public == alice.at);
    CHECK(to_bob.role == Role::initiator);  // the newcomer asked
    CHECK(to_alice.peer == "p2");
    CHECK(to_alice.peer_public == bob.at);
    CHECK(to_alice.role == Role::responder);
    CHECK(to_bob.token == to_alice.token);
    CHECK(to_bob.token != 0);
    CHECK(to_bob.flags == IntroductionFlags::party);
    CHECK(to_alice.flags == IntroductionFlags::party);
    CHECK(to_bob.peer_key == h.channel(alice.run).key_pair().public_key);
    for (const Address a : {alice.at, bob.at}) {
        const auto list = only<PartyMembers>(joined, a);
        CHECK(list.epoch == 2);
        CHECK(names_of(list) == std::vector<std::string>{"p1", "p2"});  // the host first
    }

    const auto third = join(h, carol, "friday");
    CHECK(to(third, carol.at).size() == 3);  // two Introductions and the list
    CHECK(to(third, alice.at).size() == 2);
    CHECK(to(third, bob.at).size() == 2);
    CHECK(count<Introduction>(third) == 4);
    for (const Address a : {alice.at, bob.at, carol.at}) {
        const auto list = only<PartyMembers>(third, a);
        CHECK(list.epoch == 3);
        CHECK(names_of(list) == std::vector<std::string>{"p1", "p2", "p3"});
    }
    CHECK(h.logged("p3 joined party friday (3 members)"));
    const auto c = h.server.counters();
    CHECK(c.parties == 1);
    CHECK(c.party_members == 3);
    CHECK(c.parties_created == 1);
    CHECK(c.party_joins == 2);
    CHECK(c.party_members_sent == 6);
    CHECK(c.introduced == 3);
    CHECK(to_string(c).find(" parties=1 party_members=3 ") != std::string::npos);
}

TEST_CASE("a party holds 16: the 17th player is refused as full, and a smaller server cap counts",
          "[unit][party]") {
    Harness h(party_config());
    std::vector<Player> cast;
    for (std::uint32_t i = 0; i < 17; ++i) cast.push_back(registered(h, i));
    for (std::uint32_t i = 0; i < 16; ++i) join(h, cast[i], "big");
    CHECK(h.server.counters().party_members == 16);
    const auto refused = join(h, cast[16], "big");
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].as<PartyRefused>() == PartyRefused{"big", PartyRefusedCode::full});
    CHECK(h.server.counters().party_refused_by(PartyRefusedCode::full) == 1);
    CHECK(h.logged("party big full: p16 refused"));

    Config small = party_config();
    small.parties.max_members = 3;
    Harness g(small);
    for (std::uint32_t i = 0; i < 4; ++i) registered(g, i);
    for (std::uint32_t i = 0; i < 3; ++i) join(g, player(i), "small");
    CHECK(join(g, player(3), "small").at(0).as<PartyRefused>().code == PartyRefusedCode::full);

    Config bad;
    bad.parties.max_members = 17;
    CHECK(validate(bad) == "--max-party-members must be between 2 and 16");
}

TEST_CASE_METHOD(
    Registered<3>,
    "a member who leaves or goes silent is dropped, the others are told, and the host is "
    "the oldest member still in",
    "[unit][party]") {
    all_join("friday");

    const auto left = h.send(alice.at, PartyLeave{alice.run, "friday"});
    CHECK(to(left, alice.at).empty());  // a leave is not answered
    for (const Address a : {bob.at, carol.at}) {
        const auto list = only<PartyMembers>(left, a);
        CHECK(list.epoch == 4);
        CHECK(names_of(list) == std::vector<std::string>{"p2", "p3"});  // bob hosts now
    }
    CHECK(h.logged("p1 left party friday (2 members)"));
    CHECK(h.logged("party friday: p2 is the host"));
    CHECK(h.server.counters().party_left == 1);

    // Carol refreshes every second, Bob stops: 5 s after his last PartyJoin he is dropped.
    for (int i = 1; i < 5; ++i) {
        h.advance(milliseconds(1000));
        CHECK(join(h, carol, "friday", 0, 4).empty());  // her list is current: nothing back
        Outbox out;
        h.server.tick(h.now, out);
        CHECK(out.empty());
    }
    h.advance(milliseconds(1000));
    CHECK(join(h, carol, "friday", 0, 4).empty());
    Outbox out;
    h.server.tick(h.now, out);
    REQUIRE(out.size() == 1);
    const auto pushed =
        collect(out.datagrams()[0].to, out.datagrams()[0].view(), &h.channel(carol.run));
    CHECK(pushed.to == carol.at);
    const auto list = pushed.as<PartyMembers>();
    CHECK(list.epoch == 5);
    CHECK(names_of(list) == std::vector<std::string>{"p3"});
    CHECK(h.logged("p2 dropped from party friday, not heard for 5000 ms (1 members)"));
    CHECK(h.server.counters().party_expired == 1);

    // The last one out: the party is forgotten, and its name is free for a new one.
    CHECK(h.send(carol.at, PartyLeave{carol.run, "friday"}).empty());
    CHECK(h.logged("p3 left party friday (empty: forgotten)"));
    CHECK(h.server.counters().parties == 0);
    CHECK(h.server.counters().party_members == 0);
    CHECK(only<PartyMembers>(join(h, alice, "friday"), alice.at).epoch == 1);
}

TEST_CASE_METHOD(
    Registered<2>,
    "a name that unregisters, expires or changes hands leaves its party; one that moves "
    "stays",
    "[unit][party]") {
    all_join("friday");

    SECTION("unregister") {
        const auto sent = h.send(bob.at, Unregister{bob.run});
        CHECK(names_of(only<PartyMembers>(sent, alice.at)) == std::vector<std::string>{"p1"});
        CHECK(h.logged("p2 dropped from party friday, its name is gone (1 members)"));
        CHECK(h.server.counters().party_released == 1);
    }
    SECTION("the name expires, while its party refreshes go on") {
        Outbox pushed;
        for (int s = 1; s <= 46; ++s) {
            h.advance(milliseconds(1000));
            if (s % 10 == 0) h.registered(alice.at, alice.run, "p1", {}, kMutual);
            join(h, alice, "friday", 0, 2);
            join(h, bob, "friday", 0, 2);  // no Register: the name expires at 45 s
            h.server.tick(h.now, pushed);
        }
        REQUIRE(pushed.size() == 1);
        CHECK(pushed.datagrams()[0].to == alice.at);
        CHECK(h.logged("expired p2"));
        CHECK(h.logged("p2 dropped from party friday, its name is gone (1 members)"));
        CHECK(h.server.counters().party_members == 1);
    }
    SECTION("another run takes the name") {
        const Address elsewhere{0xCB007150u, 9000};
        h.advance(milliseconds(46000));  // bob's name expired, not swept yet
        h.registered(alice.at, alice.run, "p1", {}, kMutual);
        join(h, alice, "friday");
        const auto sent = h.send(elsewhere, RegisterRequest{0x5EC0, "p2", {}, kMutual});
        CHECK(names_of(only<PartyMembers>(sent, alice.at)) == std::vector<std::string>{"p1"});
        CHECK(h.server.counters().party_members == 1);
    }
    SECTION("the same run moves (a NAT rebinding)") {
        const Address rebound{bob.at.ip, 7999};
        h.registered(rebound, bob.run, "p2", {}, kMutual);
        CHECK(h.server.counters().party_members == 2);
        // Its refresh from the new address is a member's refresh.
        CHECK(h.send(rebound, PartyJoin{bob.run, "friday", 0, 2}).empty());
    }
}

TEST_CASE_METHOD(
    Registered<2>,
    "a member's PartyJoin is its refresh: a stale epoch gets the list, the current one "
    "nothing",
    "[unit][party]") {
    all_join("friday");
    CHECK(join(h, alice, "friday", 0, 2).empty());
    const auto stale = join(h, alice, "friday", 0, 1);
    REQUIRE(stale.size() == 1);
    CHECK(stale[0].to == alice.at);
    CHECK(stale[0].as<PartyMembers>().epoch == 2);
    const auto none = join(h, alice, "friday", 0, 0);  // a client that holds no list yet
    CHECK(none.at(0).as<PartyMembers>().epoch == 2);
    CHECK(h.server.counters().party_joins == 1);  // no refresh joins again
    CHECK(h.server.counters().introduced == 1);   // nor introduces again
}

TEST_CASE_METHOD(Registered<1>,
                 "one party at a time: a member asking for another party is refused as other_party",
                 "[unit][party]") {
    all_join("friday");
    const auto sent = join(h, alice, "saturday");
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].as<PartyRefused>() == PartyRefused{"saturday", PartyRefusedCode::other_party});
    CHECK(h.server.counters().parties == 1);
    CHECK(h.server.counters().party_refused_by(PartyRefusedCode::other_party) == 1);
}

TEST_CASE("a sender that holds no name is refused as not_registered", "[unit][party]") {
    Harness h(party_config());
    const Player stranger = player(9);
    const auto sent = join(h, stranger, "friday");
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == stranger.at);
    CHECK(sent[0].as<PartyRefused>() == PartyRefused{"friday", PartyRefusedCode::not_registered});
    CHECK(sent[0].bytes.size() <
          h.sealed(stranger.at, PartyJoin{stranger.run, "friday", 0, 0}).size());
    CHECK(h.server.counters().parties == 0);
    // A registered player under another instance is no holder either.
    const Player alice = registered(h, 1);
    const auto other = h.send_as(alice.at, alice.run, PartyJoin{alice.run + 1, "friday", 0, 0});
    CHECK(other.at(0).as<PartyRefused>().code == PartyRefusedCode::not_registered);
}

TEST_CASE(
    "an admit-party: a stranger waits, only the host is asked and only the host admits, "
    "the admitted player joins at once",
    "[unit][party]") {
    Harness h(party_config());
    const Player host = registered(h, 1);
    const Player member = registered(h, 2);
    const Player asker = registered(h, 3);
    CHECK(only<PartyMembers>(join(h, host, "den", PartyFlags::admit), host.at).flags ==
          PartyFlags::admit);
    CHECK(h.logged("p1 created party den (the host admits)"));

    // The member asks, the host admits it.
    const auto asked = join(h, member, "den");
    CHECK(only<PartyRefused>(asked, member.at).code == PartyRefusedCode::waiting);
    CHECK(only<PartyJoinAsked>(asked, host.at) == PartyJoinAsked{"den", "p2"});
    CHECK(h.logged("p2 asks to join party den"));
    const auto admitted = h.send(host.at, PartyAdmit{host.run, "den", "p2"});
    CHECK(only<Introduction>(admitted, member.at).peer == "p1");
    CHECK(only<Introduction>(admitted, member.at).flags == IntroductionFlags::party);
    CHECK(names_of(only<PartyMembers>(admitted, host.at)) == std::vector<std::string>{"p1", "p2"});
    CHECK(h.logged("p1 admitted p2 to party den"));

    // The asker keeps asking every second: the host is told again after 5 s, not before.
    CHECK(to(join(h, asker, "den"), host.at).size() == 1);
    for (int i = 1; i < 5; ++i) {
        h.advance(milliseconds(1000));
        const auto again = join(h, asker, "den");
        CHECK(only<PartyRefused>(again, asker.at).code == PartyRefusedCode::waiting);
        CHECK(to(again, host.at).empty());
        CHECK(to(again, member.at).empty());  // members other than the host are never asked
    }
    h.advance(milliseconds(1000));
    CHECK(only<PartyJoinAsked>(join(h, asker, "den"), host.at).player == "p3");
    CHECK(h.server.counters().party_join_asked == 3);

    // A member that is not the host cannot admit; nor can anyone admit a player not asking.
    CHECK(h.send(member.at, PartyAdmit{member.run, "den", "p3"}).empty());
    CHECK(h.server.counters().party_admit_ignored == 1);
    const Player quiet = registered(h, 4);
    CHECK(h.send(host.at, PartyAdmit{host.run, "den", "p4"}).empty());
    CHECK(h.server.counters().party_admit_ignored == 2);
    CHECK(h.server.counters().party_members == 2);
    (void)quiet;

    // The host admits the asker: it joins, introduced to both members.
    const auto in = h.send(host.at, PartyAdmit{host.run, "den", "p3"});
    CHECK(count<Introduction>(to(in, asker.at)) == 2);
    CHECK(only<PartyMembers>(in, member.at).epoch == 3);
    CHECK(h.server.counters().party_admitted == 2);

    // An admitted run that drops out comes back without asking; another run of its name asks.
    h.send(asker.at, PartyLeave{asker.run, "den"});
    CHECK(only<PartyMembers>(join(h, asker, "den"), asker.at).epoch == 5);
    h.send(asker.at, PartyLeave{asker.run, "den"});
    h.send(asker.at, Unregister{asker.run});
    const Player reborn{asker.at, asker.run + 7, asker.name};
    h.registered(reborn.at, reborn.run, reborn.name, {}, kMutual);
    CHECK(only<PartyRefused>(join(h, reborn, "den"), reborn.at).code == PartyRefusedCode::waiting);
}

TEST_CASE("join asks are capped per party", "[unit][party]") {
    Config c = party_config();
    c.parties.max_asks = 2;
    Harness h(c);
    const Player host = registered(h, 0);
    join(h, host, "den", PartyFlags::admit);
    std::size_t told = 0;
    for (std::uint32_t i = 1; i <= 4; ++i) {
        const auto sent = join(h, registered(h, i), "den");
        CHECK(only<PartyRefused>(sent, player(i).at).code == PartyRefusedCode::waiting);
        told += to(sent, host.at).size();
    }
    CHECK(told == 2);
    CHECK(h.server.counters().party_asks_capped == 2);
    // A capped asker was never stored: the host cannot admit it.
    CHECK(h.send(host.at, PartyAdmit{host.run, "den", "p4"}).empty());
}

TEST_CASE("parties are capped in all and per creating IP, with server_full", "[unit][party]") {
    SECTION("--max-parties") {
        Config c = party_config();
        c.parties.max_parties = 2;
        Harness h(c);
        for (std::uint32_t i = 0; i < 3; ++i) registered(h, i);
        join(h, player(0), "a");
        join(h, player(1), "b");
        const auto sent = join(h, player(2), "c");
        CHECK(sent.at(0).as<PartyRefused>() == PartyRefused{"c", PartyRefusedCode::server_full});
        CHECK(h.logged("parties full: p2 cannot create party c"));
        // Joining a party that exists is no creation.
        CHECK(only<PartyMembers>(join(h, player(2), "a"), player(2).at).epoch == 2);
    }
    SECTION("--max-parties-per-ip") {
        Config c = party_config();
        c.parties.max_per_ip = 2;
        Harness h(c);
        // Mallory: one IP, three names on three ports.
        std::vector<Player> mallory;
        for (std::uint16_t i = 0; i < 3; ++i) {
            mallory.push_back({Address{0xCB007142u, static_cast<std::uint16_t>(1000 + i)},
                               0x3000u + i, "m" + std::to_string(i)});
            h.registered(mallory.back().at, mallory.back().run, mallory.back().name, {}, kMutual);
        }
        join(h, mallory[0], "x0");
        join(h, mallory[1], "x1");
        CHECK(join(h, mallory[2], "x2").at(0).as<PartyRefused>().code ==
              PartyRefusedCode::server_full);
        CHECK(h.server.counters().parties == 2);
        // Another IP still creates; and a party forgotten frees its creator's slot.
        CHECK(only<PartyMembers>(join(h, registered(h, 1), "y"), player(1).at).epoch == 1);
        h.send(mallory[0].at, PartyLeave{mallory[0].run, "x0"});
        CHECK(only<PartyMembers>(join(h, mallory[2], "x2"), mallory[2].at).epoch == 1);
    }
}

TEST_CASE("a hidden member's party introductions are relay-only, on both sides", "[unit][party]") {
    Harness h(party_config());
    const Player alice = registered(h, 1);
    const Player bob = registered(h, 2, RegisterFlags::hidden);
    join(h, alice, "friday");
    const auto sent = join(h, bob, "friday");
    for (const Address a : {alice.at, bob.at}) {
        const auto m = only<Introduction>(sent, a);
        CHECK(m.flags == (IntroductionFlags::party | IntroductionFlags::relay_only));
        CHECK(m.peer_public == Address{});
        CHECK(m.peer_lan.count == 0);
    }
}

TEST_CASE_METHOD(Registered<3>,
                 "a reminder between two members re-sends their introduction to both, a stranger "
                 "still gets the unknown-name answer",
                 "[unit][party]") {
    const Player& eve = carol;  // registered, and in no party
    join(h, alice, "friday");
    const auto joined = join(h, bob, "friday");
    const auto token = only<Introduction>(joined, bob.at).token;

    h.advance(milliseconds(20000));  // long past intro_ttl: the party's consent holds
    join(h, alice, "friday", 0, 2);
    join(h, bob, "friday", 0, 2);
    for (const Player& asker : {alice, bob}) {
        const auto again =
            h.send(asker.at, IntroduceRequest{asker.run, asker.name == "p1" ? "p2" : "p1"});
        REQUIRE(again.size() == 2);
        CHECK(again[0].to == asker.at);  // the asker first
        for (const Address a : {alice.at, bob.at}) {
            const auto m = only<Introduction>(again, a);
            CHECK(m.token == token);
            CHECK(m.flags == IntroductionFlags::party);
            CHECK(m.role == (a == bob.at ? Role::initiator : Role::responder));  // unchanged
        }
    }
    // Eve is in no party: asking for a member is asking for anyone who did not consent.
    const auto unknown = h.send(eve.at, IntroduceRequest{eve.run, "nobody"});
    const auto sent = h.send(eve.at, IntroduceRequest{eve.run, "p1"});
    CHECK(only<PeerUnknown>(sent, eve.at).peer == "p1");
    CHECK(to(sent, eve.at).at(0).bytes.size() + 4 == unknown.at(0).bytes.size());
    CHECK(only<IntroductionAsked>(sent, alice.at).peer == "p3");
    // After Bob left, the pair is no party pair: its reminder gets nothing new.
    h.send(bob.at, PartyLeave{bob.run, "friday"});
    CHECK(only<PeerUnknown>(h.send(bob.at, IntroduceRequest{bob.run, "p1"}), bob.at).peer == "p1");
}

TEST_CASE_METHOD(Registered<2>, "relay offers pass between party members under their party token",
                 "[unit][party]") {
    join(h, alice, "friday");
    const auto token = only<Introduction>(join(h, bob, "friday"), bob.at).token;
    for (int i = 0; i < 6; ++i) {  // past relay_offer_window: membership is what counts
        h.advance(milliseconds(10000));
        h.registered(alice.at, alice.run, "p1", {}, kMutual);
        h.registered(bob.at, bob.run, "p2", {}, kMutual);
        join(h, alice, "friday", 0, 2);
        join(h, bob, "friday", 0, 2);
    }
    const Address relayed{0xCB00710Au, 50000};
    const auto sent = h.send(bob.at, RelayOffer{bob.run, token, "p1", relayed, bob.at});
    CHECK(only<PeerRelay>(sent, alice.at) == PeerRelay{token, relayed, bob.at});
    CHECK(h.send(bob.at, RelayOffer{bob.run, token + 1, "p1", relayed, bob.at}).empty());
    CHECK(h.server.counters().relay_offers_token_mismatch == 1);
}

TEST_CASE(
    "with the default grant limits, a joiner of a party of 15 gets a relay for every pair, "
    "and pays once",
    "[unit][party]") {
    Config c = party_config();
    c.turn.servers = {{0x7F000001u, 3478}};
    c.turn.secret = "party";
    c.turn.unix_clock = [] { return std::int64_t{1'900'000'000}; };
    Harness h(c);
    std::vector<Player> cast;
    for (std::uint32_t i = 0; i < 16; ++i) cast.push_back(registered(h, i));
    for (std::uint32_t i = 0; i < 15; ++i) join(h, cast[i], "big");
    const auto sent = join(h, cast[15], "big");
    std::size_t intros = 0;
    for (const auto& s : sent) {
        Message m;
        if (decode_inner(s.plain, m) != DecodeError::ok) continue;
        if (const auto* i = std::get_if<Introduction>(&m)) {
            ++intros;
            CHECK(i->relay.count == 1);
            CHECK_FALSE(i->relay.username.empty());
        }
    }
    CHECK(intros == 30);
    CHECK(h.server.counters().relay_grants_refused == 0);
    CHECK(h.server.counters().relay_grants == 2 * (15 * 16 / 2));  // every pair, both sides
    // A member's renewal for a party pair is answered like any introduced pair's.
    const auto token = only<Introduction>(sent, cast[0].at).token;
    const auto renewed = h.send(cast[0].at, RelayRenew{cast[0].run, token, "p15"});
    CHECK(only<RelayCredentials>(renewed, cast[0].at).token == token);
}
