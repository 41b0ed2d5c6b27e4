// sample_game — the netcore sample: move squares with a friend or a party, peer to peer.
//
// main() is the composition root: it reads the command line, registers the modules with the
// host (net, then the optional autopilot, then squares) and runs them in a window or headless.
// Exit status: 0, except that a --headless or --autoconnect run that did not connect and see
// the peer (or, in a --party, every other player) move exits 1 (the summary line says why); bad
// arguments exit 2.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "host/host.hpp"
#include "host/sdl_platform.hpp"
#include "modules/autopilot/autopilot_module.hpp"
#include "modules/net/lobby.hpp"
#include "modules/net/net_module.hpp"
#include "modules/squares/squares_module.hpp"

namespace {

std::optional<host::Color> parse_color(const std::string& text) {
    if (text.size() != 6) return std::nullopt;
    unsigned value = 0;
    for (char c : text) {
        value <<= 4;
        if (c >= '0' && c <= '9') {
            value |= static_cast<unsigned>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            value |= static_cast<unsigned>(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            value |= static_cast<unsigned>(c - 'A' + 10);
        } else {
            return std::nullopt;
        }
    }
    return host::Color{static_cast<std::uint8_t>(value >> 16),
                       static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value),
                       255};
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"netcore sample game: move squares with a friend or a party, peer to peer."};
    net::NetOptions net_options;
    squares::SquaresOptions squares_options;
    bool headless = false;
    bool autopilot = false;
    double seconds = 0.0;
    std::string color;
    std::vector<std::pair<double, std::string>> screenshots;

    app.add_option("--server", net_options.server, "Rendezvous server, HOST[:PORT]")
        ->capture_default_str();
    std::string server_key;
    app.add_option("--server-key", server_key,
                   "The rendezvous' public key, 64 hex digits (rendezvous --print-public-key)");
    app.add_option("--name", net_options.name, "Your name (prefills the lobby)");
    app.add_option("--peer", net_options.peer,
                   "Your friend's name (prefills the lobby); none: go online and accept who "
                   "asks");
    app.add_option("--party", net_options.party,
                   "A party to join instead of a friend (prefills the lobby); everyone types the "
                   "same name");
    std::size_t players = 0;
    app.add_option("--players", players,
                   "With --party: the players the run is for, you included (default 2); it "
                   "succeeds when every other one was seen moving");
    app.add_option("--accept-from", net_options.auto_accept.names,
                   "Accept a request from NAME without a click, as the lobby's Accept would "
                   "(repeatable)");
    app.add_flag("--accept-any", net_options.auto_accept.anyone,
                 "Accept every request without a click");
    app.add_flag("--autoconnect", net_options.autoconnect, "Press Connect at start");
    app.add_flag("--headless", headless,
                 "No window: connect, move in a fixed pattern, print a summary line");
    app.add_option(
        "--seconds", seconds,
        "Run this long, then exit (headless default 30; windowed default: until closed)");
    app.add_flag("--autopilot", autopilot, "Move in a fixed pattern (always on when headless)");
    app.add_option("--color", color, "Your square's colour, RRGGBB hex (default: from your name)");
    app.add_option("--screenshot-after", screenshots,
                   "SECONDS PATH: save the window as a BMP that long after the first frame "
                   "(repeatable)");
    app.add_flag("--verbose,-v", net_options.verbose, "Log netcore events on stderr");
    CLI11_PARSE(app, argc, argv);

    if (!server_key.empty()) {
        net_options.server_key = netcore::parse_key(server_key);
        if (!net_options.server_key) {
            std::fprintf(stderr, "sample_game: --server-key wants 64 hex digits, got \"%s\"\n",
                         server_key.c_str());
            return 2;
        }
    }
    for (const std::string& name : net_options.auto_accept.names) {
        if (const std::string problem = net::name_problem(name); !problem.empty()) {
            std::fprintf(stderr, "sample_game: --accept-from %s: %s\n", name.c_str(),
                         problem.c_str());
            return 2;
        }
    }
    if (const std::string problem = net::party_problem(net_options.party, net_options.peer);
        !problem.empty()) {
        std::fprintf(stderr, "sample_game: --party: %s\n", problem.c_str());
        return 2;
    }
    if (players == 1 || players > squares::kMaxPlayers) {
        std::fprintf(stderr, "sample_game: --players wants 2 to %zu\n", squares::kMaxPlayers);
        return 2;
    }
    if (players > 0 && net_options.party.empty()) {
        std::fprintf(stderr, "sample_game: --players counts a --party's players\n");
        return 2;
    }
    if (!net_options.party.empty()) squares_options.expect_players = players > 0 ? players : 2;
    if (!color.empty()) {
        squares_options.color = parse_color(color);
        if (!squares_options.color) {
            std::fprintf(stderr, "sample_game: --color wants RRGGBB hex, got \"%s\"\n",
                         color.c_str());
            return 2;
        }
    }
    if (headless) {
        if (const std::string problem = net::name_problem(net_options.name); !problem.empty()) {
            std::fprintf(stderr, "sample_game: --name: %s\n", problem.c_str());
            return 2;
        }
        if (const std::string problem = net::peer_problem(net_options.peer, net_options.name);
            !problem.empty()) {
            std::fprintf(stderr, "sample_game: --peer: %s\n", problem.c_str());
            return 2;
        }
        if (seconds <= 0.0) seconds = 30.0;
        net_options.autoconnect = true;
        net_options.quit_on_failure = true;
        net_options.peer_wait = netcore::Duration(static_cast<long>(seconds * 1000.0));
        autopilot = true;
    }

    host::Host host;
    host.add(std::make_unique<net::NetModule>(net_options));
    if (autopilot) host.add(std::make_unique<autopilot::AutopilotModule>());
    host.add(std::make_unique<squares::SquaresModule>(squares_options));

    std::optional<host::Clock::time_point> deadline;
    if (seconds > 0.0) {
        deadline = host::Clock::now() + std::chrono::duration_cast<host::Clock::duration>(
                                            std::chrono::duration<double>(seconds));
    }

    if (headless) {
        host::HeadlessPlatform platform;
        host.run(platform, deadline);
    } else {
        host::WindowOptions window;
        window.title =
            net_options.name.empty() ? "netcore sample" : "netcore sample: " + net_options.name;
        for (auto& [after, path] : screenshots) window.screenshots.push_back({after, path});
        host::SdlPlatform platform(window);
        if (!platform.error().empty()) {
            std::fprintf(stderr, "sample_game: cannot open a window: %s\n",
                         platform.error().c_str());
            return 1;
        }
        if (net_options.verbose) {
            std::fprintf(stderr, "sample_game: OpenGL renderer: %s\n",
                         platform.renderer_name().c_str());
        }
        host.run(platform, deadline);
    }

    std::printf("%s\n", host.summary().line().c_str());
    std::fflush(stdout);
    const bool judged = headless || net_options.autoconnect;
    return judged && !host.summary().ok() ? 1 : 0;
}
