#include "modules/net/net_module.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

#include <imgui.h>

#include <netcore/protocol.hpp>

#include "modules/net/lobby.hpp"

namespace net {
namespace {

using Ms = std::chrono::milliseconds;

template <std::size_t N>
void copy_into(std::array<char, N>& buffer, const std::string& text) {
    const std::size_t n = std::min(text.size(), N - 1);
    std::copy_n(text.begin(), n, buffer.begin());
    buffer[n] = '\0';
}

double seconds_between(netcore::TimePoint from, netcore::TimePoint to) {
    return std::chrono::duration<double>(to - from).count();
}

std::string format_rate(double bytes_per_second) {
    char text[32];
    if (bytes_per_second >= 1024.0) {
        std::snprintf(text, sizeof text, "%.1f KiB/s", bytes_per_second / 1024.0);
    } else {
        std::snprintf(text, sizeof text, "%.0f B/s", bytes_per_second);
    }
    return text;
}

const ImVec4 kErrorColor{1.0f, 0.45f, 0.4f, 1.0f};
const ImVec4 kOkColor{0.5f, 0.9f, 0.5f, 1.0f};
const ImVec4 kDimColor{0.65f, 0.67f, 0.72f, 1.0f};

/// A window centred in the main viewport, sized to its content.
bool begin_centred(const char* title) {
    const ImGuiViewport* viewport = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos({viewport->WorkPos.x + viewport->WorkSize.x / 2.0f,
                             viewport->WorkPos.y + viewport->WorkSize.y / 2.0f},
                            ImGuiCond_Always, {0.5f, 0.5f});
    ImGui::SetNextWindowSizeConstraints({420.0f, 0.0f}, {640.0f, 10000.0f});
    return ImGui::Begin(title, nullptr,
                        ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_AlwaysAutoResize |
                            ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings);
}

}  // namespace

NetModule::NetModule(NetOptions options) : options_(std::move(options)) {
    copy_into(server_text_, options_.server);
    copy_into(name_text_, options_.name);
    copy_into(peer_text_, options_.peer);
    copy_into(party_text_, options_.party);
}

NetModule::~NetModule() = default;

void NetModule::start(host::Host& host) {
    host_ = &host;
    host.services().provide<host::PeerLink>(this);
    // The summary line's first fields, in this order; shutdown() fills in the outcome.
    host.summary().set("name", name_text_.data());
    if (options_.party.empty()) {
        host.summary().set("peer", options_.peer.empty() ? std::string("none") : options_.peer);
        host.summary().set("connected", "no");
        host.summary().set("path", "none");
        host.summary().set("peer_address", "none");
    } else {
        host.summary().set("party", options_.party);
        host.summary().set("host", "none");
        host.summary().set("connected", "no");
        host.summary().set("peers", "none");
    }
    now_ = netcore::Clock::now();
    if (options_.autoconnect) press_connect(now_);
}

void NetModule::log(const std::string& line) const {
    if (options_.verbose) std::fprintf(stderr, "net[%s]: %s\n", name_text_.data(), line.c_str());
}

void NetModule::fail(std::string reason) {
    log("failed: " + reason);
    last_error_ = reason;
    failure_ = std::move(reason);
    screen_ = Screen::failed;
    if (options_.quit_on_failure) host_->request_quit();
}

void NetModule::press_connect(netcore::TimePoint now) {
    const std::string server_text = server_text_.data();
    const std::string name = name_text_.data();
    const std::string peer = peer_text_.data();
    const std::string party = party_text_.data();
    notice_.clear();
    if (!name_problem(name).empty() || !peer_problem(peer, name).empty() ||
        !party_problem(party, peer).empty()) {
        fail("check the names: " + name_problem(name) + peer_problem(peer, name) +
             party_problem(party, peer));
        return;
    }
    // An IP literal needs no look-up; a host name is resolved here, once, on the player's
    // request (the only blocking call of the sample).
    std::optional<netcore::Address> server = literal_server(server_text);
    std::string why;
    if (!server)
        server = netcore::resolve_address(server_text, netcore::protocol::kDefaultPort, &why);
    if (!server) {
        fail("cannot find the server \"" + server_text + "\": " + why);
        return;
    }

    // A session that still holds our name at the same server is reused: it is registered
    // already and stays reachable between games.
    const bool reusable = session_ && session_->state() == netcore::State::registered &&
                          session_->config().server == *server && session_->config().name == name;
    if (!reusable) {
        session_.reset();  // unregisters the old name at once
        requests_.clear();
        netcore::Config config;
        config.server = *server;
        config.server_key = options_.server_key;
        config.name = name;
        // Consent::mutual, the library's default, with or without a friend's name: the server
        // introduces us only to a player we asked for. Without a name we go online and wait;
        // whoever asks for us is listed in the lobby, and Accept asks for them in return.
        config.consent = netcore::Consent::mutual;
        session_ = std::make_unique<netcore::Session>(std::move(config));
        public_address_ = {};
        if (const netcore::Error e = session_->start(now); e != netcore::Error::none) {
            fail(std::string("cannot start: ") + netcore::to_string(e));
            session_.reset();
            return;
        }
        log("registering at " + server->to_string());
    }
    asked_peer_ = party.empty() ? peer : std::string();
    party_ = party;
    in_party_ = false;
    left_party_ = false;
    host_seen_.clear();
    most_members_ = 0;
    connections_.clear();
    pair_errors_.clear();
    if (!party.empty()) {
        // Joining is consent to be introduced to every member (and them to us).
        if (const netcore::Error e = session_->join_party(party, {}, now);
            e != netcore::Error::none) {
            fail("cannot join the party " + party + ": " + netcore::to_string(e));
            return;
        }
        log("joining the party " + party);
    } else if (!peer.empty()) {
        if (const netcore::Error e = session_->connect(peer, options_.peer_wait, now);
            e != netcore::Error::none) {
            fail(std::string("cannot ask for ") + peer + ": " + netcore::to_string(e));
            return;
        }
        log("asking for " + peer);
    }
    connect_pressed_at_ = now;
    introduced_at_ = {};
    screen_ = Screen::connecting;
}

void NetModule::cancel() {
    log("cancelled");
    session_.reset();  // unregisters and drops any peer at once
    requests_.clear();
    connections_.clear();
    party_.clear();
    in_party_ = false;
    screen_ = Screen::lobby;
}

bool NetModule::accept(const std::string& name, netcore::TimePoint now) {
    if (!session_ || screen_ == Screen::game || !party_.empty()) return false;
    const netcore::State state = session_->state();
    if (state == netcore::State::waiting) {
        // Still waiting for the friend we typed, who is not online: stop, take this one.
        session_->disconnect();  // cancels the request; its "cancelled" event is expected
        stopping_wait_ = true;
    } else if (state != netcore::State::registering && state != netcore::State::registered) {
        return false;  // introduced to someone already
    }
    if (const netcore::Error e = session_->connect(name, options_.peer_wait, now);
        e != netcore::Error::none) {
        log("cannot accept " + name + ": " + netcore::to_string(e));
        return false;
    }
    log("accepted " + name);
    requests_.remove(name);
    asked_peer_ = name;
    notice_.clear();
    connect_pressed_at_ = now;
    introduced_at_ = {};
    screen_ = Screen::connecting;
    return true;
}

void NetModule::leave(netcore::TimePoint now) {
    if (!session_) return;
    log("leaving");
    host_->bus().publish(host::PeerLeaving{});  // game modules say goodbye...
    session_->update(now);                      // ...and that goes out before the disconnect
    if (party_.empty()) {
        session_->disconnect();  // a disconnected event follows: it ends the game
        return;
    }
    // The others get member_left; our connections end gracefully (their disconnected events
    // follow, after the game has ended for us).
    session_->leave_party();
    in_party_ = false;
    left_party_ = true;
    end_game("You left the party " + party_ + ".");
}

// The party's game begins: our square at once; the others appear as their pairs connect.
void NetModule::enter_party(const std::string& host, netcore::TimePoint now) {
    in_party_ = true;
    screen_ = Screen::game;
    const netcore::Stats stats = session_->stats();
    rate_window_start_ = now;
    rate_sent_ = stats.bytes_sent;
    rate_received_ = stats.bytes_received;
    up_bytes_per_second_ = down_bytes_per_second_ = 0.0;
    log("in the party " + party_ + " (host " + host + ")");
    publish_roster();
}

void NetModule::end_game(const std::string& reason) {
    log(reason);
    host_->bus().publish(host::GameEnded{reason});
    notice_ = reason;
    screen_ = Screen::lobby;  // the session stays registered: reachable, reusable
}

// The players as every member sees them: the party's list (join order, the host first), or the
// two of us sorted by name.
void NetModule::publish_roster() {
    host::Roster roster;
    roster.local_name = session_->config().name;
    if (!party_.empty()) {
        const netcore::Party& party = session_->party();
        roster.party = party_;
        roster.players = party.members;
        roster.host = party.host();
        // The summary's host: the party's when it was fullest (its latest such moment), so a
        // run's line does not depend on who left first at the end.
        if (party.members.size() >= most_members_) {
            most_members_ = party.members.size();
            host_seen_ = roster.host;
        }
    } else if (!peer_name_.empty()) {
        roster.players = {roster.local_name, peer_name_};
        if (roster.players[1] < roster.players[0]) std::swap(roster.players[0], roster.players[1]);
    }
    if (roster.players.empty()) roster.players = {roster.local_name};
    host_->bus().publish(roster);
}

void NetModule::update(const host::FrameTime& frame) {
    now_ = frame.now;
    if (!session_) return;
    session_->update(frame.now);
    requests_.expire(frame.now);
    netcore::Event event;
    while (session_ && session_->poll(event)) handle(event, frame.now);

    if (session_ && screen_ == Screen::game) {
        const netcore::Stats stats = session_->stats();
        const double window = seconds_between(rate_window_start_, frame.now);
        if (window >= 1.0) {
            up_bytes_per_second_ = static_cast<double>(stats.bytes_sent - rate_sent_) / window;
            down_bytes_per_second_ =
                static_cast<double>(stats.bytes_received - rate_received_) / window;
            rate_window_start_ = frame.now;
            rate_sent_ = stats.bytes_sent;
            rate_received_ = stats.bytes_received;
        }
    }
}

void NetModule::handle(const netcore::Event& event, netcore::TimePoint now) {
    using netcore::EventType;
    switch (event.type) {
        case EventType::registered:
            public_address_ = event.address;
            log("registered; public address " + event.address.to_string());
            break;
        case EventType::waiting_for_peer:
            log(event.peer + " is not online yet");
            break;
        case EventType::introduced:
            log("introduced to " + event.peer + " at " + event.address.to_string());
            if (!party_.empty()) break;  // one of the party's pairs: it shows in the overlay
            peer_name_ = event.peer;
            peer_public_ = event.address;
            introduced_at_ = now;
            requests_.remove(event.peer);
            if (screen_ != Screen::game) screen_ = Screen::connecting;  // also when reached
            break;
        case EventType::connected: {
            log("connected to " + event.peer + " at " + event.address.to_string() + " (" +
                netcore::to_string(event.path) + ")");
            connections_[event.connection] = Connection{event.peer, event.path, event.address};
            paths_seen_[event.peer] = event.path;
            pair_errors_.erase(event.peer);
            ever_connected_ = true;
            if (screen_ != Screen::game) {
                const netcore::Stats stats = session_->stats();
                rate_window_start_ = now;
                rate_sent_ = stats.bytes_sent;
                rate_received_ = stats.bytes_received;
                up_bytes_per_second_ = down_bytes_per_second_ = 0.0;
            }
            if (party_.empty()) {
                peer_name_ = event.peer;
                peer_address_ = event.address;
                path_ = event.path;
                screen_ = Screen::game;
                publish_roster();
            } else if (left_party_) {
                break;  // a late connection from a party we left is not in our game
            } else if (!in_party_) {
                enter_party(event.peer, now);  // the member list may come after a pair
            }
            host_->bus().publish(
                host::PeerJoined{session_->config().name, event.peer, event.connection});
            break;
        }
        case EventType::party_joined:
            if (!in_party_) {
                enter_party(event.peer, now);
            } else {
                publish_roster();
            }
            break;
        case EventType::member_joined:
        case EventType::member_left:
        case EventType::host_changed:
            log(std::string(netcore::to_string(event.type)) + ": " + event.peer);
            if (event.type == EventType::member_left) pair_errors_.erase(event.peer);
            if (in_party_) publish_roster();
            break;
        case EventType::join_requested:
            log(event.peer + " asks to join (this lobby's parties admit everyone)");
            break;
        case EventType::warning:
            log("warning: " + event.detail);
            break;
        case EventType::introduction_requested:
            log(event.peer + " wants to play");
            if (event.peer == asked_peer_) break;  // we asked too: the introduction follows
            requests_.add(event.peer, now);
            if (options_.auto_accept.accepts(event.peer)) accept(event.peer, now);
            break;
        case EventType::path_changed:
            if (const auto it = connections_.find(event.connection); it != connections_.end()) {
                it->second.path = event.path;
                it->second.address = event.address;
            }
            paths_seen_[event.peer] = event.path;
            if (party_.empty()) {
                peer_address_ = event.address;
                path_ = event.path;
            }
            log("now on the " + std::string(netcore::to_string(event.path)) + " path to " +
                event.peer + " at " + event.address.to_string());
            break;
        case EventType::received:
            host_->bus().publish(host::PeerData{event.connection,
                                                event.channel == netcore::Channel::reliable
                                                    ? host::Delivery::reliable
                                                    : host::Delivery::unreliable,
                                                event.data});
            break;
        case EventType::disconnected: {
            if (stopping_wait_ && screen_ != Screen::game) {
                stopping_wait_ = false;  // accept() stopped waiting for the friend we typed
                log("stopped waiting for another player");
                break;
            }
            const std::string who = event.peer.empty() ? peer_name_ : event.peer;
            std::string reason;
            switch (event.error) {
                case netcore::Error::peer_disconnected:
                    reason = who + " left the game.";
                    break;
                case netcore::Error::peer_timed_out:
                    reason = "Lost the connection to " + who + " (no answer for a while).";
                    break;
                case netcore::Error::none:
                    reason = party_.empty() ? "You left the game." : "Left " + who + ".";
                    break;
                default:
                    reason = std::string("Disconnected: ") + netcore::to_string(event.error) + ".";
            }
            const bool was_up = connections_.erase(event.connection) > 0;
            if (was_up) host_->bus().publish(host::PeerLeft{event.connection, reason});
            if (!party_.empty()) {
                // One pair of the party ended; the rest plays on.
                log(reason);
                if (in_party_ && event.error == netcore::Error::peer_timed_out) {
                    pair_errors_[who] = "lost (no answer for a while)";
                }
                break;
            }
            end_game(reason);
            break;
        }
        case EventType::error: {
            std::string reason = netcore::to_string(event.error);
            if (!event.detail.empty()) reason += ": " + event.detail;
            if (!party_.empty() && event.connection != netcore::kNoPeer) {
                // Only this pair failed (no path, no relay): the rest of the party plays on.
                log("error with " + event.peer + " (the party goes on): " + reason);
                pair_errors_[event.peer] = reason;
                break;
            }
            const netcore::State state = session_->state();
            if (state == netcore::State::connected ||
                (in_party_ && state != netcore::State::failed && state != netcore::State::closed)) {
                log("error (session goes on): " + reason);
                break;
            }
            if (state == netcore::State::failed || state == netcore::State::closed) {
                session_.reset();  // registration failed for good
            }
            if (in_party_) {
                in_party_ = false;
                left_party_ = true;
                host_->bus().publish(host::GameEnded{reason});
            }
            fail(reason);
            break;
        }
    }
}

bool NetModule::send(host::Delivery delivery, std::span<const std::uint8_t> bytes) {
    if (!connected()) return false;
    return session_->send(delivery == host::Delivery::reliable ? netcore::Channel::reliable
                                                               : netcore::Channel::unreliable,
                          bytes);
}

bool NetModule::send_to(host::PeerHandle peer, host::Delivery delivery,
                        std::span<const std::uint8_t> bytes) {
    if (!connected()) return false;
    const netcore::Channel channel = delivery == host::Delivery::reliable
                                         ? netcore::Channel::reliable
                                         : netcore::Channel::unreliable;
    // A two-player session may name its one connection kNoPeer: then "to every peer" is to it.
    if (peer == netcore::kNoPeer) return session_->send(channel, bytes);
    return session_->send_to(peer, channel, bytes);
}

bool NetModule::connected() const {
    return session_ && session_->state() == netcore::State::connected;
}

void NetModule::shutdown() {
    host_->summary().set("name", name_text_.data());
    host_->summary().set("connected", ever_connected_ ? "yes" : "no");
    if (party_.empty() && options_.party.empty()) {
        if (!peer_name_.empty()) host_->summary().set("peer", peer_name_);
        host_->summary().set("path", netcore::to_string(path_));
        host_->summary().set("peer_address", peer_address_.empty() ? std::string("none")
                                                                   : peer_address_.to_string());
    } else {
        // peers=bob:direct,carol:lan: everyone we connected to in this run, and the last path.
        std::string peers;
        for (const auto& [name, path] : paths_seen_) {
            peers += (peers.empty() ? "" : ",") + name + ":" + netcore::to_string(path);
        }
        host_->summary().set("host", host_seen_.empty() ? std::string("none") : host_seen_);
        host_->summary().set("peers", peers.empty() ? std::string("none") : peers);
    }
    if (!ever_connected_) {
        host_->summary().fail("never connected" +
                              (last_error_.empty() ? std::string() : ": " + last_error_));
    }
    if (!session_) return;
    // Every peer hears a goodbye rather than a timeout, and the party that we left. close()
    // bounds the goodbyes (Config::close_linger, at most 2 s, far less when the peers answer);
    // at exit there are no more frames, so the session is serviced here until it is closed.
    session_->close();
    netcore::Event event;
    while (session_->state() != netcore::State::closed) {
        std::this_thread::sleep_for(Ms(5));
        session_->update(netcore::Clock::now());
        while (session_->poll(event)) {
        }
    }
    session_.reset();
}

// ---------------------------------------------------------------------------------------------
// The screens

void NetModule::ui() {
    switch (screen_) {
        case Screen::lobby:
            lobby_ui();
            break;
        case Screen::connecting:
            connecting_ui(now_);
            break;
        case Screen::failed:
            failed_ui();
            break;
        case Screen::game:
            overlay_ui();
            break;
    }
}

void NetModule::lobby_ui() {
    if (begin_centred("netcore sample: lobby")) {
        if (!notice_.empty()) {
            ImGui::TextColored(kErrorColor, "%s", notice_.c_str());
            ImGui::Separator();
        }
        ImGui::TextUnformatted("Rendezvous server");
        ImGui::SetNextItemWidth(-1.0f);
        ImGui::InputText("##server", server_text_.data(), server_text_.size());
        const std::string server = server_text_.data();
        if (server.empty()) {
            ImGui::TextColored(kErrorColor, "enter the server's address, host:port");
        } else if (const auto literal = literal_server(server)) {
            ImGui::TextColored(kDimColor, "%s", literal->to_string().c_str());
        } else {
            ImGui::TextColored(kDimColor, "a host name: looked up when you press Connect");
        }

        ImGui::Spacing();
        ImGui::TextUnformatted("Your name");
        ImGui::SetNextItemWidth(-1.0f);
        ImGui::InputText("##name", name_text_.data(), name_text_.size());
        const std::string name = name_text_.data();
        const std::string name_error = name_problem(name);
        if (name_error.empty()) {
            ImGui::TextColored(kOkColor, "ok");
        } else {
            ImGui::TextColored(kErrorColor, "%s", name_error.c_str());
        }

        ImGui::Spacing();
        ImGui::TextUnformatted("Your friend's name");
        ImGui::SetNextItemWidth(-1.0f);
        ImGui::InputText("##peer", peer_text_.data(), peer_text_.size());
        const std::string peer = peer_text_.data();
        const std::string party = party_text_.data();
        const std::string peer_error = peer_problem(peer, name);
        if (!peer_error.empty()) {
            ImGui::TextColored(kErrorColor, "%s", peer_error.c_str());
        } else if (peer.empty() && party.empty()) {
            ImGui::TextColored(kDimColor, "empty: go online and accept a friend who asks for you");
        } else if (!peer.empty()) {
            ImGui::TextColored(kOkColor, "ok");
        }

        ImGui::Spacing();
        ImGui::TextUnformatted("Or a party (up to 8 players: everyone types the same name)");
        ImGui::SetNextItemWidth(-1.0f);
        ImGui::InputText("##party", party_text_.data(), party_text_.size());
        const std::string party_error = party_problem(party, peer);
        if (!party_error.empty()) {
            ImGui::TextColored(kErrorColor, "%s", party_error.c_str());
        } else if (party.empty()) {
            ImGui::TextColored(kDimColor, "empty: play with the friend above");
        } else {
            ImGui::TextColored(kOkColor, "ok: joins %s, or opens it if nobody is in it",
                               party.c_str());
        }

        if (session_ && session_->state() == netcore::State::registered) {
            ImGui::Spacing();
            ImGui::TextColored(kDimColor, "Online as %s: a friend who asks for you shows below.",
                               session_->config().name.c_str());
        }
        requests_ui();

        ImGui::Spacing();
        ImGui::Separator();
        const bool can_connect =
            !server.empty() && name_error.empty() && peer_error.empty() && party_error.empty();
        const char* action = !party.empty() ? "Join party" : peer.empty() ? "Go online" : "Connect";
        ImGui::BeginDisabled(!can_connect);
        if (ImGui::Button(action, {120.0f, 0.0f})) {
            press_connect(now_);
        }
        ImGui::EndDisabled();
        if (session_) {
            ImGui::SameLine();
            if (ImGui::Button("Go offline", {120.0f, 0.0f})) cancel();
        }
    }
    ImGui::End();
}

void NetModule::connecting_ui(netcore::TimePoint now) {
    if (begin_centred("netcore sample: connecting")) {
        const netcore::State state = session_ ? session_->state() : netcore::State::idle;
        const netcore::Stats stats = session_ ? session_->stats() : netcore::Stats{};
        const std::string name = session_ ? session_->config().name : std::string();
        const double waited = seconds_between(connect_pressed_at_, now);

        // Every phase, ticked off as it passes.
        const auto step = [](bool done, bool active, const std::string& text) {
            const char* mark = done ? "[x]" : (active ? "[>]" : "[ ]");
            const ImVec4 color = done ? kOkColor : (active ? ImVec4{1, 1, 1, 1} : kDimColor);
            ImGui::TextColored(color, "%s %s", mark, text.c_str());
        };
        const bool registered = state != netcore::State::registering;
        step(registered, !registered,
             registered ? "Registered as " + name + " (seen as " + public_address_.to_string() + ")"
                        : "Registering as " + name + " at " +
                              (session_ ? session_->config().server.to_string() : "") + "...");

        if (!party_.empty()) {
            step(false, registered, "Joining the party " + party_ + "...");
            ImGui::Spacing();
            ImGui::Separator();
            if (ImGui::Button("Cancel", {120.0f, 0.0f})) cancel();
            ImGui::End();
            return;
        }

        const bool introduced =
            state == netcore::State::punching || state == netcore::State::connecting;
        if (asked_peer_.empty()) {
            step(introduced, registered && !introduced,
                 introduced ? "Introduced to " + peer_name_
                            : "Online: waiting for a friend to ask for you...");
        } else {
            const bool waiting = state == netcore::State::waiting;
            char text[160];
            std::snprintf(text, sizeof text, "Waiting for %s to come online (%.0f s)...",
                          asked_peer_.c_str(), waited);
            step(introduced, waiting || state == netcore::State::registered || !registered,
                 introduced
                     ? "Introduced to " + peer_name_ + " (public " + peer_public_.to_string() + ")"
                     : std::string(text));
        }

        const bool punched = state == netcore::State::connecting;
        char punch[160];
        std::snprintf(punch, sizeof punch, "Punching: %u probes sent, %u received, %lld ms",
                      stats.probes_sent, stats.probes_received,
                      static_cast<long long>(stats.punch_elapsed.count()));
        step(punched, state == netcore::State::punching, punch);
        step(false, punched, "Connecting (ENet handshake)...");
        if (!introduced) requests_ui();

        ImGui::Spacing();
        ImGui::Separator();
        if (ImGui::Button("Cancel", {120.0f, 0.0f})) cancel();
    }
    ImGui::End();
}

void NetModule::failed_ui() {
    if (begin_centred("netcore sample: could not connect")) {
        ImGui::PushTextWrapPos(600.0f);
        ImGui::TextColored(kErrorColor, "%s", failure_.c_str());
        ImGui::PopTextWrapPos();
        ImGui::Spacing();
        ImGui::Separator();
        if (ImGui::Button("Back to lobby", {140.0f, 0.0f})) {
            screen_ = Screen::lobby;
            notice_.clear();
        }
    }
    ImGui::End();
}

// "bob wants to play (3 s ago)  [Accept]", one line per request, newest last.
void NetModule::requests_ui() {
    if (requests_.empty()) return;
    ImGui::Spacing();
    ImGui::Separator();
    ImGui::TextUnformatted("Players who want to play with you");
    const netcore::State state = session_ ? session_->state() : netcore::State::idle;
    const bool can_accept = state == netcore::State::registering ||
                            state == netcore::State::registered || state == netcore::State::waiting;
    std::optional<std::string> accepted;
    for (const auto& request : requests_.list()) {
        ImGui::PushID(request.name.c_str());
        ImGui::TextColored(kOkColor, "%s", IncomingRequests::describe(request, now_).c_str());
        ImGui::SameLine();
        ImGui::BeginDisabled(!can_accept);
        if (ImGui::SmallButton("Accept")) accepted = request.name;
        ImGui::EndDisabled();
        ImGui::PopID();
    }
    if (!asked_peer_.empty() && state == netcore::State::waiting) {
        ImGui::TextColored(kDimColor, "Accept stops waiting for %s.", asked_peer_.c_str());
    }
    if (accepted) accept(*accepted, now_);  // after the loop: accept() edits the list
}

void NetModule::overlay_ui() {
    if (!session_) return;
    if (!party_.empty()) {
        party_overlay_ui();
        return;
    }
    const netcore::Stats stats = session_->stats();
    ImGui::SetNextWindowPos({10.0f, 10.0f}, ImGuiCond_Always);
    ImGui::SetNextWindowBgAlpha(0.7f);
    constexpr ImGuiWindowFlags kFlags =
        ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_AlwaysAutoResize |
        ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoFocusOnAppearing |
        ImGuiWindowFlags_NoNav;
    if (ImGui::Begin("##net_overlay", nullptr, kFlags)) {
        ImGui::Text("%s <-> %s", session_->config().name.c_str(), peer_name_.c_str());
        ImGui::TextColored(kDimColor, "path %s, %s", netcore::to_string(path_),
                           peer_address_.to_string().c_str());
        ImGui::Text("RTT %u ms   loss %.1f %%", stats.rtt_ms,
                    static_cast<double>(stats.packet_loss) * 100.0);
        ImGui::Text("up %s   down %s", format_rate(up_bytes_per_second_).c_str(),
                    format_rate(down_bytes_per_second_).c_str());
        if (ImGui::SmallButton("Leave game")) leave(now_);
    }
    ImGui::End();
}

// The party: who leads, then one row per other member: its path, address, round trip and loss,
// or how far its connection has got, or why it failed.
void NetModule::party_overlay_ui() {
    const netcore::Party& party = session_->party();
    const std::string& me = session_->config().name;
    std::map<std::string, netcore::PeerInfo> by_name;
    for (netcore::PeerInfo& info : session_->peers()) by_name[info.name] = std::move(info);

    ImGui::SetNextWindowPos({10.0f, 10.0f}, ImGuiCond_Always);
    ImGui::SetNextWindowBgAlpha(0.7f);
    constexpr ImGuiWindowFlags kFlags =
        ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_AlwaysAutoResize |
        ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoFocusOnAppearing |
        ImGuiWindowFlags_NoNav;
    if (ImGui::Begin("##net_overlay", nullptr, kFlags)) {
        ImGui::Text("%s in the party %s, %zu player%s", me.c_str(), party_.c_str(),
                    party.members.size(), party.members.size() == 1 ? "" : "s");
        ImGui::TextColored(kOkColor, "host: %s%s", party.host().c_str(),
                           party.host() == me ? " (you)" : "");
        if (party.members.size() <= 1) {
            ImGui::TextColored(kDimColor, "waiting for others to join %s...", party_.c_str());
        } else if (ImGui::BeginTable("##peers", 5, ImGuiTableFlags_SizingFixedFit)) {
            for (const char* heading : {"player", "path", "address", "RTT", "loss"}) {
                ImGui::TableSetupColumn(heading);
            }
            ImGui::TableHeadersRow();
            for (const std::string& member : party.members) {
                if (member == me) continue;
                ImGui::TableNextRow();
                ImGui::TableNextColumn();
                ImGui::Text("%s%s", member.c_str(), member == party.host() ? " (host)" : "");
                ImGui::TableNextColumn();
                const auto info = by_name.find(member);
                const auto error = pair_errors_.find(member);
                if (info != by_name.end() && info->second.state == netcore::State::connected) {
                    const netcore::PeerInfo& p = info->second;
                    ImGui::TextUnformatted(netcore::to_string(p.path));
                    ImGui::TableNextColumn();
                    ImGui::TextColored(kDimColor, "%s", p.address.to_string().c_str());
                    ImGui::TableNextColumn();
                    ImGui::Text("%u ms", p.rtt_ms);
                    ImGui::TableNextColumn();
                    ImGui::Text("%.1f %%", static_cast<double>(p.packet_loss) * 100.0);
                } else if (error != pair_errors_.end()) {
                    ImGui::TextColored(kErrorColor, "no path: %s", error->second.c_str());
                } else {
                    const double punching =
                        info == by_name.end()
                            ? 0.0
                            : std::chrono::duration<double>(info->second.punch_elapsed).count();
                    ImGui::TextColored(kDimColor, "%s (%.1f s)",
                                       info == by_name.end()
                                           ? "introducing"
                                           : netcore::to_string(info->second.state),
                                       punching);
                }
            }
            ImGui::EndTable();
        }
        ImGui::Text("up %s   down %s", format_rate(up_bytes_per_second_).c_str(),
                    format_rate(down_bytes_per_second_).c_str());
        if (ImGui::SmallButton("Leave party")) leave(now_);
    }
    ImGui::End();
}

}  // namespace net
