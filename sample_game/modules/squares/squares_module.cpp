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
    host.bus().subscribe<host::PeerJoined>([this](const host::PeerJoined& j) { on_joined(j); });
    host.bus().subscribe<host::PeerData>([this](const host::PeerData& d) { on_data(d); });
    host.bus().subscribe<host::PeerLeaving>([this](const host::PeerLeaving&) { send_leave(); });
    host.bus().subscribe<host::PeerLeft>([this](const host::PeerLeft&) {
        in_game_ = false;
        remote_.reset();
    });
}

void SquaresModule::on_joined(const host::PeerJoined& joined) {
    in_game_ = true;
    ever_joined_ = true;
    local_name_ = joined.local_name;
    local_color_ = options_.color.value_or(color_for(joined.local_name));
    local_ = local_previous_ = spawn_point(joined.local_name, joined.peer_name);
    remote_.reset();
    peer_ = PeerView{};
    peer_.name = joined.peer_name;
    peer_.color = color_for(joined.peer_name);  // until its Hello says otherwise
    if (link_ != nullptr) {
        link_->send(host::Delivery::reliable, encode(Hello{local_name_, local_color_}));
    }
}

void SquaresModule::on_data(const host::PeerData& data) {
    if (!in_game_) return;
    const std::optional<Message> message = decode(data.bytes);
    if (!message) return;  // malformed: not from a squares peer of our version
    if (const auto* hello = std::get_if<Hello>(&*message)) {
        peer_.hello = true;
        peer_.name = hello->name;
        peer_.color = hello->color;
    } else if (const auto* state = std::get_if<StateUpdate>(&*message)) {
        const host::Vec2 position{state->x, state->y};
        if (!remote_.push(state->tick, position)) return;
        ++peer_.updates;
        if (!peer_.first) peer_.first = position;
        peer_.last = position;
        peer_.farthest = std::max(
            peer_.farthest, std::hypot(position.x - peer_.first->x, position.y - peer_.first->y));
    } else {
        peer_.left = true;
    }
    summary_peer_ = peer_;
}

void SquaresModule::send_leave() {
    if (in_game_ && link_ != nullptr) link_->send(host::Delivery::reliable, encode(Leave{}));
}

void SquaresModule::update(const host::FrameTime& frame) {
    if (in_game_) remote_.advance(frame.dt / tick_seconds_);
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
    if (const auto remote = remote_.sample()) {
        if (!peer_.left) draw_square(*remote, peer_.color, peer_.name);
    }
    draw_square(lerp(local_previous_, local_, alpha), local_color_, local_name_ + " (you)");
}

void SquaresModule::shutdown() {
    send_leave();
    const PeerView& p = in_game_ ? peer_ : summary_peer_;
    host_->summary().set("updates", std::to_string(p.updates));
    host_->summary().set("remote", format_position(p.last));
    const bool moved = p.farthest >= kMovedThreshold;
    host_->summary().set("remote_moved", moved ? "yes" : "no");
    if (ever_joined_ && !moved) host_->summary().fail("no movement received from the peer");
}

}  // namespace squares
