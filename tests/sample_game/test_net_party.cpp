// The net module in a party: netcore's party events, fed to handle() as update() would, become
// the bus messages the game plays by (a roster, a square per connected member, one pair's end or
// failure that does not end the game, Leave party that does). A real session towards a
// rendezvous port on loopback where nothing listens; the squares module on the same host.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "host/host.hpp"
#include "modules/net/net_module.hpp"
#include "modules/squares/messages.hpp"
#include "modules/squares/squares_module.hpp"

namespace {

/// Records what the net module publishes.
class Recorder final : public host::Module {
  public:
    [[nodiscard]] std::string_view name() const override { return "recorder"; }
    void start(host::Host& h) override {
        h.bus().subscribe<host::Roster>([this](const host::Roster& r) { rosters.push_back(r); });
        h.bus().subscribe<host::PeerJoined>(
            [this](const host::PeerJoined& j) { joined.push_back(j.peer_name); });
        h.bus().subscribe<host::PeerLeft>(
            [this](const host::PeerLeft& l) { left.push_back(l.reason); });
        h.bus().subscribe<host::GameEnded>(
            [this](const host::GameEnded& e) { ended.push_back(e.reason); });
    }
    std::vector<host::Roster> rosters;
    std::vector<std::string> joined;
    std::vector<std::string> left;
    std::vector<std::string> ended;
};

struct InParty {
    host::Host host;
    net::NetModule* net = nullptr;
    squares::SquaresModule* game = nullptr;
    Recorder* seen = nullptr;

    InParty() {
        net::NetOptions o;
        o.server = "127.0.0.1:9";  // discard: no rendezvous answers there
        o.name = "alice";
        o.party = "friday";
        o.autoconnect = true;
        net = static_cast<net::NetModule*>(&host.add(std::make_unique<net::NetModule>(o)));
        game = static_cast<squares::SquaresModule*>(
            &host.add(std::make_unique<squares::SquaresModule>()));
        seen = static_cast<Recorder*>(&host.add(std::make_unique<Recorder>()));
        host.start(host::Clock::now());
    }
    ~InParty() { host.shutdown(); }

    void feed(netcore::EventType type, const std::string& peer, netcore::PeerId connection = 0,
              netcore::Error error = netcore::Error::none) {
        netcore::Event e;
        e.type = type;
        e.peer = peer;
        e.connection = connection;
        e.error = error;
        e.path = netcore::Path::lan;
        net->handle(e, netcore::Clock::now());
    }
};

}  // namespace

TEST_CASE(
    "In a party, each connected member gets a square, and one pair ending or failing "
    "does not end the game",
    "[sample][party]") {
    using netcore::EventType;
    InParty alice;
    CHECK(alice.net->party() == "friday");

    alice.feed(EventType::party_joined, "alice");
    CHECK(alice.net->screen() == net::NetModule::Screen::game);
    CHECK(alice.game->in_game());  // our own square at once, alone in the party
    REQUIRE(alice.seen->rosters.size() == 1);
    CHECK(alice.seen->rosters[0].local_name == "alice");
    CHECK(alice.seen->rosters[0].party == "friday");

    alice.feed(EventType::member_joined, "bob");
    CHECK(alice.seen->rosters.size() == 2);  // the players changed: the roster again
    alice.feed(EventType::connected, "bob", 5);
    alice.feed(EventType::connected, "carol", 6);
    CHECK(alice.seen->joined == std::vector<std::string>{"bob", "carol"});
    REQUIRE(alice.game->remotes() == std::vector<host::PeerHandle>{5, 6});
    CHECK(alice.game->peer(5)->name == "bob");

    // What arrives on a connection moves that member's square.
    netcore::Event data;
    data.type = EventType::received;
    data.connection = 6;
    data.peer = "carol";
    data.channel = netcore::Channel::unreliable;
    data.data = squares::encode(squares::StateUpdate{3, 120.0f, 80.0f});
    alice.net->handle(data, netcore::Clock::now());
    CHECK(alice.game->peer(6)->updates == 1);
    CHECK(alice.game->peer(5)->updates == 0);

    // dave's pair fails (no path): the party plays on.
    alice.feed(EventType::error, "dave", 7, netcore::Error::punch_failed);
    CHECK(alice.net->screen() == net::NetModule::Screen::game);
    CHECK(alice.game->in_game());

    // carol leaves: her square goes, the game goes on.
    alice.feed(EventType::member_left, "carol");
    alice.feed(EventType::disconnected, "carol", 6, netcore::Error::peer_disconnected);
    CHECK(alice.seen->left == std::vector<std::string>{"carol left the game."});
    CHECK(alice.game->remotes() == std::vector<host::PeerHandle>{5});
    CHECK(alice.seen->ended.empty());
    CHECK(alice.net->screen() == net::NetModule::Screen::game);

    // Leave party ends the game for us at once; what comes after from the party is not ours.
    alice.net->leave(netcore::Clock::now());
    CHECK(alice.seen->ended == std::vector<std::string>{"You left the party friday."});
    CHECK_FALSE(alice.game->in_game());
    CHECK(alice.net->screen() == net::NetModule::Screen::lobby);
    alice.feed(EventType::connected, "erin", 8);
    CHECK(alice.seen->joined.size() == 2);
    CHECK_FALSE(alice.game->in_game());
}
