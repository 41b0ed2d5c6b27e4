// A real rendezvous Server on 127.0.0.1, spoken to from real ENet sockets in the same process.
#include <catch2/catch.hpp>

#include <enet/enet.h>

#include <chrono>
#include <memory>
#include <optional>
#include <random>

#include "rendezvous_test_support.hpp"

using namespace rendezvous;
using namespace rendezvous::testing;
using namespace netcore::protocol;
using netcore::Address;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint32_t kLoopback = 0x7F000001u;   // 127.0.0.1
constexpr std::uint32_t kLoopback2 = 0x7F000002u;  // 127.0.0.2: another source IP, same host

// A client socket made directly with enet_socket_* (not the server's wrapper), so the test does
// not share the code it checks.
class Client {
  public:
    explicit Client(std::uint32_t ip = kLoopback) {
        REQUIRE(enet_initialize() == 0);
        socket_ = enet_socket_create(ENET_SOCKET_TYPE_DATAGRAM);
        REQUIRE(socket_ != ENET_SOCKET_NULL);
        ENetAddress any{};
        any.host = ENET_HOST_TO_NET_32(ip);
        any.port = 0;
        REQUIRE(enet_socket_bind(socket_, &any) == 0);
        REQUIRE(enet_socket_set_option(socket_, ENET_SOCKOPT_NONBLOCK, 1) == 0);
        ENetAddress bound{};
        REQUIRE(enet_socket_get_address(socket_, &bound) == 0);
        address_ = Address{ENET_NET_TO_HOST_32(bound.host), bound.port};
    }
    ~Client() {
        enet_socket_destroy(socket_);
        enet_deinitialize();
    }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    [[nodiscard]] Address address() const { return address_; }

    void send_raw(Address to, const std::vector<std::uint8_t>& bytes) {
        ENetAddress dest{};
        dest.host = ENET_HOST_TO_NET_32(to.ip);
        dest.port = to.port;
        ENetBuffer b{};
        b.data = const_cast<std::uint8_t*>(bytes.data());
        b.dataLength = bytes.size();
        REQUIRE(enet_socket_send(socket_, &dest, &b, 1) == static_cast<int>(bytes.size()));
    }
    /// This client's run: its channel to the server whose key it pins.
    SignalChannel& channel(const netcore::PublicKey& server_key) {
        if (!channel_) channel_.emplace(server_key);
        return *channel_;
    }
    /// Sends `m` sealed by this client's channel (keyed by a Challenge already). Returns the bytes.
    std::vector<std::uint8_t> send(Address to, const Message& m) {
        REQUIRE(channel_);
        std::vector<std::uint8_t> bytes(kMaxDatagramSize);
        bytes.resize(channel_->seal(m, bytes));
        REQUIRE(!bytes.empty());
        send_raw(to, bytes);
        return bytes;
    }

    /// One datagram if any is waiting, else nothing. Never blocks.
    std::optional<Sent> receive() {
        std::vector<std::uint8_t> buf(2048);
        ENetBuffer b{};
        b.data = buf.data();
        b.dataLength = buf.size();
        ENetAddress from{};
        const int n = enet_socket_receive(socket_, &from, &b, 1);
        REQUIRE(n >= 0);
        if (n == 0) return std::nullopt;
        buf.resize(static_cast<std::size_t>(n));
        return collect(Address{ENET_NET_TO_HOST_32(from.host), from.port}, buf,
                       channel_ ? &*channel_ : nullptr);
    }

  private:
    ENetSocket socket_ = ENET_SOCKET_NULL;
    Address address_;
    std::optional<SignalChannel> channel_;
};

struct LiveServer {
    explicit LiveServer(Config config = {}) : server(config, Log(LogLevel::error, stderr_sink())) {
        std::string error;
        REQUIRE(server.open(Address{kLoopback, 0}, &error));
        REQUIRE(error.empty());
        REQUIRE(server.port() != 0);
    }
    [[nodiscard]] Address address() const { return {kLoopback, server.port()}; }

    /// Polls the server until `client` has a datagram, for at most two seconds.
    std::optional<Sent> reply_to(Client& client) {
        const auto deadline = Clock::now() + std::chrono::seconds(2);
        while (Clock::now() < deadline) {
            server.poll(10, Clock::now());
            if (auto got = client.receive()) return got;
        }
        return std::nullopt;
    }

    /// Sends `client`'s Hello and takes the Challenge into its channel. Returns the Challenge.
    std::optional<Sent> hello(Client& client) {
        auto& channel = client.channel(server.public_key());
        client.send_raw(address(), hello_bytes(channel));
        auto challenge = reply_to(client);
        if (!challenge || !challenge->is_challenge()) return std::nullopt;
        CHECK(channel.on_challenge(challenge->challenge(), true) ==
              SignalChannel::ChallengeOutcome::new_salt);
        return challenge;
    }

    /// Registers `client` as a session would: Hello, Challenge, then the sealed Register.
    /// Returns the answer to the Register.
    std::optional<Sent> register_client(Client& client, std::uint64_t instance,
                                        std::string_view name) {
        if (!hello(client)) return std::nullopt;
        // An open host, as Harness::registered: these tests have one side ask.
        client.send(address(), RegisterRequest{instance, name, {}, RegisterFlags::open});
        return reply_to(client);
    }

    Server server;
};

}  // namespace

TEST_CASE("a server on port 0 binds an ephemeral port and reports it", "[integration][socket]") {
    LiveServer live;
    CHECK(live.server.local_address() == Address{kLoopback, live.server.port()});
    live.server.close();
    CHECK(live.server.port() == 0);
}

TEST_CASE("opening a port already in use fails with a reason", "[integration][socket]") {
    LiveServer first;
    Server second({}, Log(LogLevel::error, {}));
    std::string error;
    CHECK_FALSE(second.open(first.address(), &error));
    CHECK(error.find("cannot bind 127.0.0.1:" + std::to_string(first.server.port())) == 0);
}

TEST_CASE("a real Register over loopback is acknowledged with the client's own address",
          "[integration][socket]") {
    LiveServer live;
    Client alice;
    const auto challenge = live.hello(alice);
    REQUIRE(challenge);
    CHECK(challenge->to == live.address());        // for a received datagram, `to` holds its source
    CHECK(challenge->bytes.size() == kHelloSize);  // no larger than the Hello: no amplification
    CHECK(challenge->challenge().server_key == live.server.public_key());
    const auto request = alice.send(live.address(), RegisterRequest{1, "alice", {}});
    const auto reply = live.reply_to(alice);
    REQUIRE(reply);
    const auto ack = reply->as<RegisterAck>();  // it opened under Alice's signal key
    CHECK(ack.instance == 1);
    CHECK(ack.observed == alice.address());
    const auto c = live.server.counters();
    CHECK(c.packets_in == 2);
    CHECK(c.bytes_in == kHelloSize + request.size());
    CHECK(c.packets_out == 2);
    CHECK(c.bytes_out == challenge->bytes.size() + reply->bytes.size());
}

TEST_CASE("two real clients are introduced to each other over loopback", "[integration][socket]") {
    LiveServer live;
    Client alice;
    Client bob;
    REQUIRE(live.register_client(alice, 1, "alice"));
    REQUIRE(live.register_client(bob, 2, "bob"));

    alice.send(live.address(), IntroduceRequest{1, "bob"});
    const auto to_alice = live.reply_to(alice);
    const auto to_bob = live.reply_to(bob);
    REQUIRE(to_alice);
    REQUIRE(to_bob);
    const auto a = to_alice->as<Introduction>();
    const auto b = to_bob->as<Introduction>();
    CHECK(a.token == b.token);
    CHECK(a.role == Role::initiator);
    CHECK(b.role == Role::responder);
    CHECK(a.peer_public == bob.address());
    CHECK(b.peer_public == alice.address());
    CHECK(a.peer_key == bob.channel(live.server.public_key()).key_pair().public_key);
    CHECK(b.peer_key == alice.channel(live.server.public_key()).key_pair().public_key);
}

TEST_CASE("a burst of garbage is dropped unanswered and the server still serves a registration",
          "[integration][socket]") {
    // Limits off: this is about decoding under load; the limits have their own tests.
    Config config;
    config.limits.rate = 1e9;
    config.limits.burst = 1e9;
    LiveServer live(config);
    Client attacker;
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<std::size_t> length(1, 600);
    const auto valid = hello_bytes(attacker.channel(live.server.public_key()));

    // Batches of 50 stay well inside a loopback socket's receive buffer, so none is lost
    // before the server reads it and every one must show up in the drop counters.
    constexpr std::size_t kBatches = 10;
    constexpr std::size_t kPerBatch = 50;
    std::size_t garbage_bytes = 0;
    for (std::size_t batch = 0; batch < kBatches; ++batch) {
        for (std::size_t i = 0; i < kPerBatch; ++i) {
            std::vector<std::uint8_t> junk;
            if (i % 2 == 0) {
                junk.resize(length(rng));
                for (auto& b : junk) b = static_cast<std::uint8_t>(byte(rng));
            } else {
                const auto cut = 1 + i % (valid.size() - 1);  // 1 .. size-1 bytes
                junk.assign(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(cut));
            }
            garbage_bytes += junk.size();
            attacker.send_raw(live.address(), junk);
        }
        const auto deadline = Clock::now() + std::chrono::seconds(2);
        while (live.server.counters().packets_in < (batch + 1) * kPerBatch &&
               Clock::now() < deadline) {
            live.server.poll(10, Clock::now());
        }
    }
    // An oversized datagram (bigger than any of ours, smaller than UDP's limit) and an empty one.
    attacker.send_raw(live.address(), std::vector<std::uint8_t>(4000, 'N'));
    attacker.send_raw(live.address(), {});

    Client alice;
    const auto reply = live.register_client(alice, 1, "alice");
    REQUIRE(reply);
    CHECK(reply->as<RegisterAck>().observed == alice.address());

    CHECK_FALSE(attacker.receive());  // garbage is never answered
    const auto c = live.server.counters();
    std::uint64_t drops = 0;
    for (const auto d : c.dropped) drops += d;
    CHECK(drops == kBatches * kPerBatch + 1);  // + the oversized one; the empty one is invisible
    CHECK(c.receive_errors == 0);
    // The garbage, the oversized one, Alice's Hello and her sealed Register (5 + 8 + 1 + 5 + 1
    // bytes of plaintext: type, instance, name, LAN count).
    CHECK(c.bytes_in ==
          garbage_bytes + 4000 + kHelloSize + kClientSealedHead + 1 + 8 + 1 + 5 + 1 + 1 + kTagSize);
    CHECK(c.names == 1);
}

TEST_CASE("a flood from one IP over many ports is cut to its bucket while another IP registers",
          "[integration][socket]") {
    LiveServer live;
    // 20 sockets on 127.0.0.2, 50 Hellos each (each worth a Challenge), without reading what
    // comes back.
    std::vector<std::unique_ptr<Client>> flood;
    for (int i = 0; i < 20; ++i) flood.push_back(std::make_unique<Client>(kLoopback2));
    const auto request = hello_bytes(flood[0]->channel(live.server.public_key()));
    const auto start = Clock::now();
    for (int round = 0; round < 50; ++round) {
        for (auto& c : flood) c->send_raw(live.address(), request);
        live.server.poll(0, Clock::now());  // keep the server's receive buffer from overflowing
    }
    const std::chrono::duration<double> took = Clock::now() - start;
    Client alice;  // 127.0.0.1
    const auto reply = live.register_client(alice, 1, "alice");
    REQUIRE(reply);
    CHECK(reply->as<RegisterAck>().observed == alice.address());

    std::size_t answers = 0;
    for (auto& c : flood)
        while (c->receive()) ++answers;
    const auto c = live.server.counters();
    CHECK(c.rate_limited > 0);
    // The burst, and the rate over however long the flood took to send (well under a second).
    CHECK(static_cast<double>(answers) <= 40 + 20 * (took.count() + 0.1));
    CHECK(answers + c.rate_limited <= 1000);
    CHECK(c.names == 1);
}
