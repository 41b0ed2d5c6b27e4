// Writes the seed corpus: one file per valid message of each kind, so the fuzzers start from
// inputs that get past the magic and the cookie. Usage: fuzz_seeds OUTPUT_DIRECTORY
// Creates OUTPUT_DIRECTORY/{protocol,stun,handle,turn}/seed_N.
#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "netcore/protocol.hpp"
#include "stun.hpp"
#include "stun_message.hpp"

namespace {

namespace protocol = netcore::protocol;
namespace stun = rendezvous::stun;
using Bytes = std::vector<std::uint8_t>;

Bytes encoded(const protocol::Message& m) {
    Bytes out(protocol::kMaxDatagramSize);
    out.resize(protocol::encode(m, out));
    return out;
}

void write(const std::filesystem::path& dir, const std::vector<Bytes>& seeds) {
    std::filesystem::create_directories(dir);
    for (std::size_t i = 0; i < seeds.size(); ++i) {
        std::ofstream f(dir / ("seed_" + std::to_string(i)), std::ios::binary);
        f.write(reinterpret_cast<const char*>(seeds[i].data()),
                static_cast<std::streamsize>(seeds[i].size()));
    }
}

// A handle record: sender index and time step packed in one byte, then length and datagram.
void record(Bytes& out, std::uint8_t sender, std::uint8_t steps, const Bytes& datagram) {
    out.push_back(static_cast<std::uint8_t>((steps << 2) | (sender & 3)));
    out.push_back(static_cast<std::uint8_t>(datagram.size()));
    out.insert(out.end(), datagram.begin(), datagram.end());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: fuzz_seeds OUTPUT_DIRECTORY\n");
        return 1;
    }
    const std::filesystem::path root = argv[1];

    protocol::AddressList lan;
    lan.push({0x0A000002u, 5000});
    const netcore::Address pub{0xCB007107u, 5000};
    const std::vector<Bytes> messages = {
        encoded(protocol::RegisterRequest{1, {}, "alice", lan}),
        encoded(protocol::RegisterRequest{2, protocol::Cookie{1, 2, 3}, "bob", {}}),
        encoded(protocol::Challenge{2, protocol::Cookie{4, 5, 6}}),
        encoded(protocol::RegisterAck{1, pub, 15000, 45000}),
        encoded(protocol::RegisterError{1, protocol::RegisterErrorCode::name_taken}),
        encoded(protocol::IntroduceRequest{1, "bob"}),
        encoded(protocol::PeerUnknown{"carol"}),
        encoded(protocol::Introduction{7, protocol::Role::initiator, "bob", pub, lan, {}}),
        encoded(protocol::Unregister{1}),
        encoded(protocol::Probe{7, 1}),
        encoded(protocol::ProbeAck{7, 1, pub}),
    };
    write(root / "protocol", messages);

    // STUN: a bare Binding request, and one with SOFTWARE and FINGERPRINT (RFC 8489 §14).
    Bytes binding = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 1,  2,
                     3,    4,    5,    6,    7,    8,    9,    10,   11, 12};
    Bytes full = binding;
    full.insert(full.end(), {0x80, 0x22, 0x00, 0x03, 'f', 'u', 'z', 0x00});  // SOFTWARE
    full.insert(full.end(), {0x80, 0x28, 0x00, 0x04, 0, 0, 0, 0});           // FINGERPRINT
    full[3] = static_cast<std::uint8_t>(full.size() - stun::kHeaderSize);
    const auto crc = stun::crc32(std::span(full.data(), full.size() - 8)) ^ stun::kFingerprintXor;
    for (std::size_t i = 0; i < 4; ++i)
        full[full.size() - 4 + i] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
    Bytes classic = binding;  // RFC 3489: no cookie, CHANGE-REQUEST with no change asked
    classic[4] = 0xAB;
    classic.insert(classic.end(), {0x00, 0x03, 0x00, 0x04, 0, 0, 0, 0});
    classic[3] = 8;
    write(root / "stun", {binding, full, classic});

    // The server: two clients register, are introduced, one refreshes late, one leaves.
    Bytes session;
    record(session, 0, 0, messages[0]);
    record(session, 2, 1, messages[1]);
    record(session, 0, 1, messages[4]);
    record(session, 2, 1, encoded(protocol::IntroduceRequest{2, "alice"}));
    record(session, 1, 8, messages[0]);
    record(session, 3, 0, full);
    record(session, 2, 20, messages[7]);
    write(root / "handle", {session, messages[0], binding});

    // The TURN client's input: what a TURN server sends (fuzz_stun_message).
    namespace turn = netcore::detail::stun;
    const auto key = turn::IntegrityKey::long_term("user", "netcore.test", "pass");
    const auto message = [](turn::Method method, turn::Class cls, const auto& add) {
        Bytes b(512);
        turn::Writer w(b, method, cls, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
        add(w);
        b.resize(w.bytes().size());
        return b;
    };
    const netcore::Address peer{0xCB007107u, 6000};
    write(root / "turn",
          {message(turn::Method::allocate, turn::Class::error,
                   [](turn::Writer& w) {
                       w.add_error_code(401, "Unauthorized");
                       w.add(turn::Attr::realm, std::string_view("netcore.test"));
                       w.add(turn::Attr::nonce, std::string_view("fuzz-nonce"));
                   }),
           message(turn::Method::refresh, turn::Class::error,
                   [](turn::Writer& w) {
                       w.add_error_code(438, "Stale Nonce");
                       w.add(turn::Attr::nonce, std::string_view("fuzz-nonce-2"));
                   }),
           message(turn::Method::allocate, turn::Class::success,
                   [&](turn::Writer& w) {
                       w.add_xor_address(turn::Attr::xor_relayed_address, {0x7F000001u, 50000});
                       w.add_xor_address(turn::Attr::xor_mapped_address, pub);
                       w.add_u32(turn::Attr::lifetime, 600);
                       w.add_integrity(key);
                   }),
           message(turn::Method::data, turn::Class::indication,
                   [&](turn::Writer& w) {
                       w.add_xor_address(turn::Attr::xor_peer_address, peer);
                       w.add(turn::Attr::data, std::string_view("hello"));
                   }),
           Bytes{0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'},
           Bytes{0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0}});
    return 0;
}
