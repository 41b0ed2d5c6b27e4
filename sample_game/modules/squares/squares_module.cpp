#include "modules/squares/squares_module.hpp"

#include <cmath>
#include <cstdio>

#include <imgui.h>

namespace squares {
namespace {

std::string format_position(std::optional<host::Vec2> p) {
    if (!p) return "none";
    char text[64];
    std::snprintf(text, sizeof text, "(%.1f,%.1f)", static_cast<double>(p->x),
                  static_cast<double>(p->y));
    return text;
}

constexpr host::Color kArenaColor{34, 38, 46, 255};
constexpr host::Color kBorderColor{90, 98, 112, 255};
constexpr host::Color kLabelColor{225, 228, 235, 255};

}  // namespace

void SquaresModule::start(host::Host& host) {
    host_ = &host;
    link_ = host.services().find<host::PeerLink>();
    input_ = host.services().find<host::Input>();
    tick_seconds_ = host.tick_seconds();
    host.bus().subscribe<host::Roster>([this](const host::Roster& r) { on_roster(r); });
    host.bus().subscribe<host::PeerJoined>([this](const host::PeerJoined& j) { on_joined(j); });
    host.bus().subscribe<host::PeerData>([this](const host::PeerData& d) { on_data(d); });
    host.bus().subscribe<host::PeerLeft>(
        [this](const host::PeerLeft& left) { remotes_.erase(left.peer); });
    host.bus().subscribe<host::PeerLeaving>([this](const host::PeerLeaving&) { send_leave(); });
    host.bus().subscribe<host::GameEnded>([this](const host::GameEnded&) {
        in_game_ = false;
        remotes_.clear();
    });
}

host::Color SquaresModule::roster_color(const std::string& name) const {
    for (std::size_t i = 0; i < roster_.players.size() && i < roster_colors_.size(); ++i) {
        if (roster_.players[i] == name) return roster_colors_[i];
    }
    return color_for(name);
}

void SquaresModule::on_roster(const host::Roster& roster) {
    roster_ = roster;
    roster_colors_ = colors_for(roster_.players);
    party_ = party_ || !roster_.party.empty();
    const host::Color color = options_.color.value_or(roster_color(roster_.local_name));
    if (!in_game_) {
        // The game begins: our square in our slot (our place in the list every player shares).
        in_game_ = true;
        ever_joined_ = true;
        local_name_ = roster_.local_name;
        std::size_t slot = 0;
        while (slot < roster_.players.size() && roster_.players[slot] != local_name_) ++slot;
        local_ = local_previous_ = spawn_slot(slot);
        local_color_ = color;
        remotes_.clear();
        return;
    }
    // The players changed, and with them maybe our colour: tell every peer (the Hello's colour
    // is what they draw).
    for (auto& [handle, remote] : remotes_) {
        if (!remote.view.hello) remote.view.color = roster_color(remote.view.name);
    }
    if (color == local_color_) return;
    local_color_ = color;
    if (link_ != nullptr) link_->send(host::Delivery::reliable, encode(Hello{local_name_, color}));
}

void SquaresModule::on_joined(const host::PeerJoined& joined) {
    if (!in_game_) {
        // No roster from the transport: two players, sorted by name as spawn_point() does.
        host::Roster pair{joined.local_name, {joined.local_name, joined.peer_name}, {}, {}};
        if (pair.players[1] < pair.players[0]) std::swap(pair.players[0], pair.players[1]);
        on_roster(pair);
    }
    Remote& remote = remotes_[joined.peer];
    remote.view = PeerView{};
    remote.motion.reset();
    remote.view.name = joined.peer_name;
    remote.view.color = roster_color(joined.peer_name);  // until its Hello says otherwise
    seen_[joined.peer_name] = remote.view;
    last_peer_ = joined.peer_name;
    if (link_ != nullptr) {
        link_->send_to(joined.peer, host::Delivery::reliable,
                       encode(Hello{local_name_, local_color_}));
    }
}

void SquaresModule::on_data(const host::PeerData& data) {
    if (!in_game_) return;
    const auto it = remotes_.find(data.peer);
    if (it == remotes_.end()) return;  // not a peer in the game
    const std::optional<Message> message = decode(data.bytes);
    if (!message) return;  // malformed: not from a squares peer of our version
    PeerView& view = it->second.view;
    if (const auto* hello = std::get_if<Hello>(&*message)) {
        // The name is the transport's (netcore proved it); a Hello only brings the colour.
        view.hello = true;
        view.color = hello->color;
    } else if (const auto* state = std::get_if<StateUpdate>(&*message)) {
        const host::Vec2 position{state->x, state->y};
        if (!it->second.motion.push(state->tick, position)) return;
        ++view.updates;
        if (!view.first) view.first = position;
        view.last = position;
        view.farthest = std::max(
            view.farthest, std::hypot(position.x - view.first->x, position.y - view.first->y));
    } else {
        view.left = true;
    }
    seen_[view.name] = view;
}

void SquaresModule::send_leave() {
    if (in_game_ && link_ != nullptr) link_->send(host::Delivery::reliable, encode(Leave{}));
}

std::vector<host::PeerHandle> SquaresModule::remotes() const {
    std::vector<host::PeerHandle> handles;
    for (const auto& [handle, remote] : remotes_) handles.push_back(handle);
    return handles;
}

const PeerView* SquaresModule::peer(host::PeerHandle handle) const {
    const auto it = remotes_.find(handle);
    return it == remotes_.end() ? nullptr : &it->second.view;
}

std::optional<host::Vec2> SquaresModule::remote_position(host::PeerHandle handle) const {
    const auto it = remotes_.find(handle);
    if (it == remotes_.end()) return std::nullopt;
    return it->second.motion.sample();
}

const PeerView& SquaresModule::peer() const {
    static const PeerView none;
    return remotes_.empty() ? none : remotes_.begin()->second.view;
}

std::optional<host::Vec2> SquaresModule::remote_position() const {
    if (remotes_.empty()) return std::nullopt;
    return remotes_.begin()->second.motion.sample();
}

void SquaresModule::update(const host::FrameTime& frame) {
    if (!in_game_) return;
    for (auto& [handle, remote] : remotes_) remote.motion.advance(frame.dt / tick_seconds_);
}

void SquaresModule::tick(const host::TickTime& tick) {
    if (!in_game_) return;
    local_previous_ = local_;
    if (input_ != nullptr && !input_->keyboard_captured) {
        local_ = step(local_, input_->move_x, input_->move_y, tick.dt);
    }
    ++local_tick_;
    if (local_tick_ % kTicksPerState == 0 && link_ != nullptr) {
        link_->send(host::Delivery::unreliable,
                    encode(StateUpdate{local_tick_, local_.x, local_.y}));
    }
}

void SquaresModule::ui() {
    if (!in_game_) return;
    const ImGuiViewport* viewport = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos({viewport->WorkPos.x + viewport->WorkSize.x / 2.0f,
                             viewport->WorkPos.y + viewport->WorkSize.y - 8.0f},
                            ImGuiCond_Always, {0.5f, 1.0f});
    ImGui::SetNextWindowBgAlpha(0.6f);
    constexpr ImGuiWindowFlags kFlags =
        ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_AlwaysAutoResize |
        ImGuiWindowFlags_NoFocusOnAppearing | ImGuiWindowFlags_NoNav;
    if (ImGui::Begin("##squares_help", nullptr, kFlags)) {
        ImGui::TextUnformatted("Move with WASD or the arrow keys");
    }
    ImGui::End();
}

void SquaresModule::render(host::Canvas& canvas, float alpha) {
    if (!in_game_) return;
    const ArenaView view = ArenaView::fit(canvas.size(), 24.0f);
    const host::Vec2 top_left = view.to_window({0.0f, 0.0f});
    const host::Vec2 bottom_right = view.to_window({kArenaWidth, kArenaHeight});
    canvas.fill_rect({top_left, bottom_right}, kArenaColor);
    canvas.outline_rect({top_left, bottom_right}, kBorderColor, 2.0f);

    const auto draw_square = [&](host::Vec2 centre, host::Color color, const std::string& label) {
        constexpr float half = kSquareSize / 2.0f;
        const host::Vec2 a = view.to_window({centre.x - half, centre.y - half});
        const host::Vec2 b = view.to_window({centre.x + half, centre.y + half});
        canvas.fill_rect({a, b}, color);
        canvas.text({a.x, a.y - 18.0f}, kLabelColor, label);  // above, never over the square
    };
    for (const auto& [handle, remote] : remotes_) {
        const auto at = remote.motion.sample();
        if (at && !remote.view.left) draw_square(*at, remote.view.color, remote.view.name);
    }
    draw_square(lerp(local_previous_, local_, alpha), local_color_, local_name_ + " (you)");
}

void SquaresModule::shutdown() {
    send_leave();
    summarize();
}

// Two players: the peer's updates, last position and whether it moved. A party: how many other
// players were seen and how many moved, and each must have moved.
void SquaresModule::summarize() {
    host::Summary& summary = host_->summary();
    if (!party_ && options_.expect_players == 0) {
        const auto it = seen_.find(last_peer_);
        const PeerView p = it == seen_.end() ? PeerView{} : it->second;
        summary.set("updates", std::to_string(p.updates));
        summary.set("remote", format_position(p.last));
        const bool moved = p.farthest >= kMovedThreshold;
        summary.set("remote_moved", moved ? "yes" : "no");
        if (ever_joined_ && !moved) summary.fail("no movement received from the peer");
        return;
    }
    std::size_t moved = 0;
    std::uint32_t fewest_updates = seen_.empty() ? 0 : seen_.begin()->second.updates;
    std::string still;  // players seen who never moved
    for (const auto& [name, view] : seen_) {
        fewest_updates = std::min(fewest_updates, view.updates);
        if (view.farthest >= kMovedThreshold) {
            ++moved;
        } else {
            still += (still.empty() ? "" : ",") + name;
        }
    }
    const std::size_t others = options_.expect_players > 0 ? options_.expect_players - 1 : 0;
    summary.set("seen", std::to_string(seen_.size()));
    summary.set("moved",
                std::to_string(moved) + "/" + std::to_string(std::max(others, seen_.size())));
    summary.set("updates_min", std::to_string(fewest_updates));
    if (!ever_joined_) return;  // never in a game: the transport says why
    if (!still.empty()) summary.fail("no movement received from " + still);
    if (moved < others) {
        summary.fail("saw " + std::to_string(moved) + " of " + std::to_string(others) +
                     " other players move");
    }
}

}  // namespace squares
