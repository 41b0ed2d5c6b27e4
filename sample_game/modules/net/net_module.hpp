// net — the netcore module: the embedding model for a game.
//
// Owns one netcore::Session: two players (connect() to a friend) or a party (join_party()). Each
// frame, update() calls session.update(now) and drains session.poll(): netcore events become what
// the player sees (lobby, phases, overlay) and what other modules get on the bus
// (host/peer_link.hpp). It implements host::PeerLink, so game modules send through it without
// knowing netcore. Nothing here blocks, except resolving a host name, done once and only when the
// player presses Connect with a name instead of an IP, and shutdown(), which at exit services the
// closing session until its goodbyes are answered (at most Config::close_linger, 2 s).
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <netcore/netcore.hpp>

#include "host/host.hpp"
#include "host/peer_link.hpp"
#include "modules/net/requests.hpp"

namespace net {

struct NetOptions {
    std::string server = "127.0.0.1:7777";  ///< rendezvous, "a.b.c.d[:port]" or "host[:port]"
    /// The rendezvous' public key, pinned (a shipped game has it built in); none: trust on first
    /// use.
    std::optional<netcore::PublicKey> server_key;
    std::string name;                    ///< our name, prefilled in the lobby
    std::string peer;                    ///< friend's name; empty: go online, accept who asks
    std::string party;                   ///< a party to join instead of asking for a friend
    AutoAccept auto_accept;              ///< headless: accept these requests without a click
    bool autoconnect = false;            ///< press Connect at start
    bool quit_on_failure = false;        ///< headless: a failure ends the run
    netcore::Duration peer_wait{60000};  ///< how long to wait for the friend to come online
    bool verbose = false;                ///< log every netcore event on stderr
};

class NetModule final : public host::Module, public host::PeerLink {
  public:
    explicit NetModule(NetOptions options);
    ~NetModule() override;

    [[nodiscard]] std::string_view name() const override { return "net"; }
    void start(host::Host& host) override;
    void update(const host::FrameTime& frame) override;
    void ui() override;
    void shutdown() override;

    bool send(host::Delivery delivery, std::span<const std::uint8_t> bytes) override;
    bool send_to(host::PeerHandle peer, host::Delivery delivery,
                 std::span<const std::uint8_t> bytes) override;
    [[nodiscard]] bool connected() const override;

    /// What the player is looking at.
    enum class Screen { lobby, connecting, game, failed };
    [[nodiscard]] Screen screen() const { return screen_; }

    /// What update() does with each event the session reports (public so tests can feed one).
    void handle(const netcore::Event& event, netcore::TimePoint now);
    /// The lobby's Accept: asks for `name`, who asked for us, so the two are introduced.
    /// False when the player is busy (in a game, or introduced to someone else).
    bool accept(const std::string& name, netcore::TimePoint now);
    /// The overlay's Leave game / Leave party: the game says goodbye, then the session leaves.
    void leave(netcore::TimePoint now);
    /// Players who asked to play with us and are waiting for an Accept.
    [[nodiscard]] const IncomingRequests& requests() const { return requests_; }
    /// The player we asked for (typed, or accepted); empty while waiting to be asked.
    [[nodiscard]] const std::string& asked_peer() const { return asked_peer_; }
    /// The party we are in or joining; empty in a two-player game.
    [[nodiscard]] const std::string& party() const { return party_; }
    [[nodiscard]] const netcore::Session* session() const { return session_.get(); }

  private:
    void press_connect(netcore::TimePoint now);
    void cancel();
    void fail(std::string reason);
    void log(const std::string& line) const;
    void publish_roster();
    void enter_party(const std::string& host, netcore::TimePoint now);
    void end_game(const std::string& reason);

    void lobby_ui();
    void connecting_ui(netcore::TimePoint now);
    void failed_ui();
    void overlay_ui();
    void party_overlay_ui();
    void requests_ui();

    NetOptions options_;
    host::Host* host_ = nullptr;
    Screen screen_ = Screen::lobby;
    std::unique_ptr<netcore::Session> session_;

    // The lobby's text fields (Dear ImGui edits char buffers in place).
    std::array<char, 128> server_text_{};
    std::array<char, 64> name_text_{};
    std::array<char, 64> peer_text_{};
    std::array<char, 64> party_text_{};

    // What the screens show.
    std::string notice_;   ///< lobby: why we are back ("bob left the game")
    std::string failure_;  ///< failed screen: what went wrong
    std::string asked_peer_;
    IncomingRequests requests_;
    bool stopping_wait_ = false;  ///< accept() cancelled our own request: its event is expected
    netcore::TimePoint now_{};
    netcore::TimePoint connect_pressed_at_{};
    netcore::TimePoint introduced_at_{};
    netcore::Address public_address_;
    netcore::Address peer_public_;
    netcore::Address peer_address_;
    netcore::Path path_ = netcore::Path::none;
    std::string peer_name_;

    // A party: its name while we join it, play in it and leave it (empty: two players).
    std::string party_;
    bool in_party_ = false;    ///< party_joined came and we have not left
    bool left_party_ = false;  ///< we left (or it failed): its late events are not our game
    /// Connections up now, by netcore's id (the two-player session's only one may be kNoPeer).
    struct Connection {
        std::string name;
        netcore::Path path = netcore::Path::none;
        netcore::Address address;
    };
    std::map<netcore::PeerId, Connection> connections_;
    std::map<std::string, std::string> pair_errors_;   ///< a member we could not connect to: why
    std::map<std::string, netcore::Path> paths_seen_;  ///< every peer connected in this run
    std::string host_seen_;  ///< the party's host when it was fullest, for the summary
    std::size_t most_members_ = 0;

    // Bandwidth, measured over one-second windows.
    netcore::TimePoint rate_window_start_{};
    std::uint64_t rate_sent_ = 0;
    std::uint64_t rate_received_ = 0;
    double up_bytes_per_second_ = 0.0;
    double down_bytes_per_second_ = 0.0;

    // For the summary line.
    bool ever_connected_ = false;
    std::string last_error_;
};

}  // namespace net
