// squares — the game module: two squares, yours moved by your input, your friend's by theirs.
//
// Talks to the network only through host::PeerLink and the bus messages of host/peer_link.hpp:
//   PeerJoined -> spawn, send Hello (reliable);  every 3rd tick -> send StateUpdate (unreliable);
//   PeerData   -> Hello: friend's name/colour; StateUpdate: into the Interpolator; Leave: hide;
//   PeerLeaving / shutdown -> send Leave (reliable);  PeerLeft -> back to no game.
#pragma once

#include <optional>
#include <string>

#include "host/host.hpp"
#include "host/peer_link.hpp"
#include "modules/squares/game_state.hpp"
#include "modules/squares/interpolation.hpp"
#include "modules/squares/messages.hpp"

namespace squares {

struct SquaresOptions {
    std::optional<host::Color> color;  ///< our square's colour; default: color_for(name)
};

/// What the game has seen of the peer, for the summary line and tests.
struct PeerView {
    bool hello = false;
    std::string name;
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
    [[nodiscard]] std::optional<host::Vec2> remote_position() const { return remote_.sample(); }
    [[nodiscard]] const PeerView& peer() const { return peer_; }

    /// The peer moved if an update was this far (arena units) from its first one.
    static constexpr float kMovedThreshold = 5.0f;

  private:
    void on_joined(const host::PeerJoined& joined);
    void on_data(const host::PeerData& data);
    void send_leave();

    SquaresOptions options_;
    host::Host* host_ = nullptr;
    host::PeerLink* link_ = nullptr;
    const host::Input* input_ = nullptr;
    double tick_seconds_ = 1.0 / 60.0;

    bool in_game_ = false;
    std::string local_name_;
    host::Color local_color_;
    host::Vec2 local_;
    host::Vec2 local_previous_;
    std::uint32_t local_tick_ = 0;
    Interpolator remote_;
    PeerView peer_;
    bool ever_joined_ = false;
    PeerView summary_peer_;  // kept after the game ends, for the summary line
};

}  // namespace squares
