// A minimal pair of clients for tests/interop/turn_interop.sh: registers two names with a real
// rendezvous on 127.0.0.1 (Hello, Challenge, then every signal sealed through netcore's own
// SignalChannel, pinned to the server's key), has the first ask for the second, prints each
// side's relay grant, then passes a RelayOffer from the first and checks that the second
// receives it as PeerRelay.
//
// Usage: relay_grant_client RENDEZVOUS_PORT SERVER_KEY   (the key: 64 hex digits, the banner's)
// Prints, on success (exit 0):
//   alice server=IP:PORT username=U password=P
//   bob server=IP:PORT username=U password=P
//   peer_relay relayed=IP:PORT mapped=IP:PORT
// Exit 1 with one line on stderr otherwise.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "netcore/address.hpp"
#include "netcore/keys.hpp"
#include "netcore/protocol.hpp"
#include "signal_channel.hpp"

namespace protocol = netcore::protocol;
using netcore::detail::SignalChannel;

namespace {

constexpr int kAttempts = 10;  // each waits kWaitMs for an answer, then sends again
constexpr int kWaitMs = 500;   // per receive
constexpr std::uint64_t kAliceRun = 0xA11CE;
constexpr std::uint64_t kBobRun = 0xB0B;

[[noreturn]] void die(const std::string& why) {
    std::fprintf(stderr, "relay_grant_client: %s\n", why.c_str());
    std::exit(1);
}

class Client {
  public:
    Client(std::uint16_t server_port, const netcore::PublicKey& server_key) : channel_(server_key) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        if (fd_ < 0) die("socket() failed");
        timeval tv{0, kWaitMs * 1000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) die("bind failed");
        server_.sin_family = AF_INET;
        server_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        server_.sin_port = htons(server_port);
    }
    ~Client() { ::close(fd_); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    void send_bytes(std::span<const std::uint8_t> bytes) {
        ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&server_),
                 sizeof server_);
    }
    // Sends `m` sealed (the channel must be keyed: see register_as).
    void send(const protocol::Message& m) {
        std::array<std::uint8_t, protocol::kMaxDatagramSize> out{};
        const auto n = channel_.seal(m, out);
        if (n == 0) die("cannot seal a message");
        send_bytes({out.data(), n});
    }
    // The next signal from the server that opens under our key, or nothing after one wait. A
    // Challenge on the way is taken (its cookie, or a first salt while `registering`).
    std::optional<protocol::Message> receive(bool registering = false) {
        for (;;) {
            sockaddr_in from{};
            socklen_t len = sizeof from;
            std::array<std::uint8_t, protocol::kMaxDatagramSize> datagram{};
            const auto n = ::recvfrom(fd_, datagram.data(), datagram.size(), 0,
                                      reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 0) return std::nullopt;
            protocol::Envelope e;
            if (protocol::decode_envelope({datagram.data(), static_cast<std::size_t>(n)}, e) !=
                protocol::DecodeError::ok)
                continue;
            if (e.type == protocol::EnvelopeType::challenge) {
                channel_.on_challenge(e, registering);
                if (registering) return std::nullopt;  // send again, now keyed or with its cookie
                continue;
            }
            protocol::Message m;
            if (channel_.open(e, last_, m) == SignalChannel::OpenError::none) return m;
        }
    }
    // Registers `name`: Hello, Challenge, then the sealed Register until a RegisterAck.
    void register_as(std::uint64_t run, std::string_view name) {
        // Open hosts: Alice asks, Bob is introduced without asking back (PROTOCOL.md §4.12).
        const protocol::RegisterRequest r{run, name, {}, protocol::RegisterFlags::open};
        for (int i = 0; i < kAttempts; ++i) {
            if (channel_.keyed()) {
                send(r);
            } else {
                std::array<std::uint8_t, protocol::kHelloSize> hello{};
                send_bytes({hello.data(), channel_.hello(hello)});
            }
            const auto m = receive(true);
            if (m && std::holds_alternative<protocol::RegisterAck>(*m)) return;
        }
        die("no RegisterAck for " + std::string(name));
    }
    // The plaintext last opened (names in decoded messages view it).
    std::array<std::uint8_t, protocol::kMaxDatagramSize> last_{};

  private:
    int fd_ = -1;
    sockaddr_in server_{};
    SignalChannel channel_;
};

void print_grant(const char* who, const protocol::Introduction& m) {
    if (m.relay.count == 0) die(std::string(who) + "'s Introduction grants no relay");
    std::printf("%s server=%s username=%.*s password=%.*s\n", who,
                m.relay.servers[0].to_string().c_str(), static_cast<int>(m.relay.username.size()),
                m.relay.username.data(), static_cast<int>(m.relay.password.size()),
                m.relay.password.data());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) die("usage: relay_grant_client RENDEZVOUS_PORT SERVER_KEY");
    const auto port = static_cast<std::uint16_t>(std::atoi(argv[1]));
    const auto key = netcore::parse_key(argv[2]);
    if (!key) die("the server key must be 64 hex digits");
    Client alice(port, *key);
    Client bob(port, *key);
    alice.register_as(kAliceRun, "alice");
    bob.register_as(kBobRun, "bob");

    std::uint64_t token = 0;
    for (int i = 0; i < kAttempts && token == 0; ++i) {
        alice.send(protocol::IntroduceRequest{kAliceRun, "bob"});
        const auto to_alice = alice.receive();
        if (!to_alice) continue;
        const auto* m = std::get_if<protocol::Introduction>(&*to_alice);
        if (m == nullptr) continue;
        print_grant("alice", *m);
        token = m->token;
    }
    if (token == 0) die("no Introduction for alice");
    const auto to_bob = bob.receive();
    const auto* b = to_bob ? std::get_if<protocol::Introduction>(&*to_bob) : nullptr;
    if (b == nullptr || b->token != token) die("no Introduction for bob with alice's token");
    print_grant("bob", *b);

    const netcore::Address relayed{0x7F000001u, 49999};
    const netcore::Address mapped{0x7F000001u, 40000};
    for (int i = 0; i < kAttempts; ++i) {
        alice.send(protocol::RelayOffer{kAliceRun, token, "bob", relayed, mapped});
        const auto m = bob.receive();
        const auto* p = m ? std::get_if<protocol::PeerRelay>(&*m) : nullptr;
        if (p == nullptr) continue;
        if (p->token != token || p->relayed != relayed || p->mapped != mapped)
            die("bob's PeerRelay does not carry alice's offer");
        std::printf("peer_relay relayed=%s mapped=%s\n", p->relayed.to_string().c_str(),
                    p->mapped.to_string().c_str());
        return 0;
    }
    die("no PeerRelay for bob");
}
