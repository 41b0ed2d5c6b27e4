// squares — the game module: one square per player, yours moved by your input, every other
// player's by theirs (two players, or a party of up to kMaxPlayers with distinct colours).
//
// Talks to the network only through host::PeerLink and the bus messages of host/peer_link.hpp:
//   Roster     -> the game begins (spawn in our slot) or its players changed (colours again);
//   PeerJoined -> a square for that peer, send it our Hello (reliable);
//   every 3rd tick -> send StateUpdate to every peer (unreliable);
//   PeerData   -> Hello: that peer's colour; StateUpdate: into its Interpolator; Leave: hide it;
//   PeerLeft   -> its square goes;  PeerLeaving / shutdown -> send Leave (reliable);
//   GameEnded  -> back to no game.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "host/host.hpp"
#include "host/peer_link.hpp"
#include "modules/squares/game_state.hpp"
#include "modules/squares/interpolation.hpp"
#include "modules/squares/messages.hpp"

namespace squares {

struct SquaresOptions {
    std::optional<host::Color> color;  ///< our square's colour; default: from the roster
    /// The players the run is for, us included (headless --players): the summary fails unless
    /// this many minus one others were seen moving. 0: a two-player run's rule (the peer moved).
    std::size_t expect_players = 0;
};

/// What the game has seen of one peer, for the summary line and tests.
struct PeerView {
    bool hello = false;
    std::string name;  ///< the transport's name for the peer (a Hello cannot change it)
    host::Color color;
    std::uint32_t updates = 0;        ///< state updates accepted
    std::optional<host::Vec2> first;  ///< first position received
    std::optional<host::Vec2> last;   ///< latest position received
    float farthest = 0.0f;            ///< farthest any update was from `first`
    bool left = false;                ///< a Leave arrived
};

class SquaresModule final : public host::Module {
  public:
    explicit SquaresModule(SquaresOptions options = {}) : options_(options) {}

    [[nodiscard]] std::string_view name() const override { return "squares"; }
    void start(host::Host& host) override;
    void update(const host::FrameTime& frame) override;
    void tick(const host::TickTime& tick) override;
    void ui() override;
    void render(host::Canvas& canvas, float alpha) override;
    void shutdown() override;

    [[nodiscard]] bool in_game() const { return in_game_; }
    [[nodiscard]] host::Vec2 local_position() const { return local_; }
    [[nodiscard]] host::Color local_color() const { return local_color_; }
    [[nodiscard]] const host::Roster& roster() const { return roster_; }

    /// The peers whose squares are in the game, by handle.
    [[nodiscard]] std::vector<host::PeerHandle> remotes() const;
    [[nodiscard]] const PeerView* peer(host::PeerHandle handle) const;
    /// Where that peer's square is drawn now; nothing before its first update.
    [[nodiscard]] std::optional<host::Vec2> remote_position(host::PeerHandle handle) const;
    /// Two-player conveniences: the oldest peer in the game (an empty view when none).
    [[nodiscard]] const PeerView& peer() const;
    [[nodiscard]] std::optional<host::Vec2> remote_position() const;

    /// A peer moved if an update was this far (arena units) from its first one.
    static constexpr float kMovedThreshold = 5.0f;

  private:
    struct Remote {
        PeerView view;
        Interpolator motion;
    };

    void on_roster(const host::Roster& roster);
    void on_joined(const host::PeerJoined& joined);
    void on_data(const host::PeerData& data);
    void send_leave();
    [[nodiscard]] host::Color roster_color(const std::string& name) const;
    void summarize();

    SquaresOptions options_;
    host::Host* host_ = nullptr;
    host::PeerLink* link_ = nullptr;
    const host::Input* input_ = nullptr;
    double tick_seconds_ = 1.0 / 60.0;

    bool in_game_ = false;
    host::Roster roster_;
    std::vector<host::Color> roster_colors_;  // colors_for(roster_.players)
    std::string local_name_;
    host::Color local_color_;
    host::Vec2 local_;
    host::Vec2 local_previous_;
    std::uint32_t local_tick_ = 0;
    std::map<host::PeerHandle, Remote> remotes_;  // handles grow: oldest first

    // For the summary line: every peer seen in this run, by name, kept after it left.
    bool ever_joined_ = false;
    bool party_ = false;  // a party was played (the summary counts players)
    std::map<std::string, PeerView> seen_;
    std::string last_peer_;  // the two-player summary's peer: the one that joined last
};

}  // namespace squares
