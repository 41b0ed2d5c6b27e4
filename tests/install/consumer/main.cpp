// Uses the installed netcore the way a game does: one include, a Config, a Session.
#include <netcore/netcore.hpp>
#include <netcore/protocol.hpp>

#include <cstdio>

int main() {
    const auto server = netcore::parse_address("203.0.113.7", netcore::protocol::kDefaultPort);
    if (!server) {
        std::puts("consumer: cannot parse the server address");
        return 1;
    }
    netcore::Config config;
    config.server = *server;
    config.name = "player1";
    netcore::Session session(config);  // constructed, not started: no traffic
    std::printf("consumer: netcore %s, server %s, name %s %s\n", NETCORE_VERSION,
                session.config().server.to_string().c_str(), session.config().name.c_str(),
                netcore::protocol::valid_name(config.name) ? "valid" : "invalid");
    return 0;
}
