// Writes the seed corpora: valid datagrams of each kind, so the fuzzers start from inputs that
// get past the magic, the version and the envelope's head. Usage: fuzz_seeds OUTPUT_DIRECTORY
// Creates OUTPUT_DIRECTORY/{protocol,peer,signal,stun,handle}/seed_N.
//
// Nothing here links the rendezvous server: its STUN seeds are built with the STUN codec it
// shares with netcore (netcore_stun).
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "crypto.hpp"
#include "netcore/protocol.hpp"
#include "netcore/ticket.hpp"
#include "peer_channel.hpp"
#include "rfc5769.hpp"
#include "signal_channel.hpp"
#include "stun_message.hpp"

namespace {

// An ENet CONNECT as a probe carries it (§4.8): header, checksum slot, the 48-byte command.
const std::vector<std::uint8_t> kConnect = [] {
    std::vector<std::uint8_t> d(56, 0);
    d[8] = 0x82;  // CONNECT, acknowledge
    return d;
}();

namespace protocol = netcore::protocol;
namespace crypto = netcore::crypto;
using Bytes = std::vector<std::uint8_t>;

void write(const std::filesystem::path& dir, const std::vector<Bytes>& seeds) {
    std::filesystem::create_directories(dir);
    for (std::size_t i = 0; i < seeds.size(); ++i) {
        std::ofstream f(dir / ("seed_" + std::to_string(i)), std::ios::binary);
        f.write(reinterpret_cast<const char*>(seeds[i].data()),
                static_cast<std::streamsize>(seeds[i].size()));
    }
}

// A record of the handle and signal fuzzers: one leading byte (handle: sender index and time
// step; signal: flags), then length and datagram.
void record(Bytes& out, std::uint8_t lead, const Bytes& datagram) {
    out.push_back(lead);
    out.push_back(static_cast<std::uint8_t>(datagram.size()));
    out.insert(out.end(), datagram.begin(), datagram.end());
}
std::uint8_t sender(std::uint8_t index, std::uint8_t steps) {
    return static_cast<std::uint8_t>((steps << 2) | (index & 3));
}

crypto::KeyPair fixed_keys(std::uint8_t seed, std::size_t step) {
    crypto::KeyPair k;
    for (std::size_t i = 0; i < k.secret_key.size(); ++i)
        k.secret_key[i] = static_cast<std::uint8_t>(seed + step * i);
    k.public_key = crypto::public_key_of(k.secret_key);
    return k;
}

Bytes inner(const protocol::Message& m) {
    Bytes out(protocol::kMaxDatagramSize);
    out.resize(protocol::encode_inner(m, out));
    return out;
}
Bytes hello(const netcore::PublicKey& key) {
    Bytes b(protocol::kHelloSize);
    b.resize(protocol::encode_hello(key, b));
    return b;
}
Bytes challenge(const netcore::PublicKey& key, std::uint8_t salt, std::uint8_t cookie) {
    protocol::Salt s{};
    s.fill(salt);
    protocol::Cookie c{};
    c.fill(cookie);
    Bytes b(protocol::kChallengeSize);
    b.resize(protocol::encode_challenge(key, s, c, b));
    return b;
}
// A server_sealed envelope sealed the way the server does (§11.2), for `client`'s key.
Bytes server_sealed(const crypto::KeyPair& server, const netcore::PublicKey& client,
                    std::uint8_t salt, std::uint64_t counter, const protocol::Message& m) {
    crypto::SymmetricKey shared{};
    if (!crypto::agree(server.secret_key, client, shared)) return {};
    protocol::Salt s{};
    s.fill(salt);
    const auto key = crypto::signal_key(shared, client, server.public_key, s);
    Bytes b(protocol::kMaxDatagramSize);
    const auto head = protocol::encode_server_sealed_head(counter, b);
    const auto plain = inner(m);
    const auto box = crypto::seal(key, crypto::kFromServer, counter, std::span(b).first(head),
                                  plain, std::span(b).subspan(head));
    b.resize(head + box);
    return b;
}
template <typename Seal>
Bytes sealed_by(Seal&& seal) {
    Bytes b(protocol::kMaxDatagramSize);
    b.resize(seal(std::span(b)));
    return b;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: fuzz_seeds OUTPUT_DIRECTORY\n");
        return 1;
    }
    const std::filesystem::path root = argv[1];
    if (!crypto::init()) {
        std::fprintf(stderr, "fuzz_seeds: libsodium cannot be used\n");
        return 1;
    }

    protocol::AddressList lan;
    lan.push({0x0A000002u, 5000});
    const netcore::Address pub{0xCB007107u, 5000};
    const auto server = fixed_keys(0x5E, 3);  // fuzz_signal_channel pins this key
    const auto peer_key = fixed_keys(0x33, 5).public_key;

    // ---- protocol: every inner message, and every envelope (with real boxes) ----
    protocol::RelayGrant grant;
    grant.servers[grant.count++] = {0xCB00710Au, 3478};
    grant.username = "1767225600:bob";
    grant.password = "c2VjcmV0";
    protocol::PartyMembers party_members{"friday", 7, protocol::PartyFlags::admit, {}, 0};
    for (const auto* member : {"alice", "bob", "carol"}) party_members.push(member);
    const std::vector<Bytes> messages = {
        inner(protocol::RegisterRequest{1, "alice", lan}),
        inner(protocol::RegisterAck{1, pub, 15000, 45000}),
        inner(protocol::RegisterError{1, protocol::RegisterErrorCode::name_taken}),
        inner(protocol::IntroduceRequest{1, "bob"}),
        inner(protocol::PeerUnknown{"carol"}),
        inner(protocol::Introduction{7, protocol::Role::initiator, "bob", pub, lan, {}, peer_key}),
        inner(
            protocol::Introduction{8, protocol::Role::responder, "bob", pub, {}, grant, peer_key}),
        inner(protocol::Unregister{1}),
        inner(protocol::RelayOffer{1, 7, "bob", {0xCB00710Au, 50000}, pub}),
        inner(protocol::PeerRelay{7, {0xCB00710Au, 50000}, pub}),
        inner(protocol::RegisterRequest{2,
                                        "dave",
                                        {},
                                        protocol::RegisterFlags::all,
                                        protocol::OwnerKey{1, 2, 3},
                                        protocol::OwnerProof{4, 5}}),
        inner(protocol::Introduction{9,
                                     protocol::Role::initiator,
                                     "erin",
                                     {},
                                     {},
                                     grant,
                                     peer_key,
                                     protocol::IntroductionFlags::relay_only}),
        inner(protocol::IntroductionAsked{"frank"}),
        inner(protocol::RelayRenew{1, 7, "bob"}),
        inner(protocol::RelayCredentials{7, grant}),
        inner(protocol::Probe{7, 1}),
        inner(protocol::Probe{7, 2, kConnect}),  // the initiator's, carrying its CONNECT (§4.8)
        inner(protocol::ProbeAck{7, 1, pub}),
        // Parties (§4.15).
        inner(protocol::PartyJoin{1, "friday", protocol::PartyFlags::admit, 3}),
        inner(protocol::PartyLeave{1, "friday"}),
        inner(party_members),
        inner(protocol::PartyRefused{"friday", protocol::PartyRefusedCode::waiting}),
        inner(protocol::PartyAdmit{1, "friday", "gina"}),
        inner(protocol::PartyJoinAsked{"friday", "gina"}),
        inner(protocol::Introduction{10,
                                     protocol::Role::responder,
                                     "hank",
                                     pub,
                                     {},
                                     {},
                                     peer_key,
                                     protocol::IntroductionFlags::party}),
    };

    // A client keyed by the fixed server's Challenge (its own key pair is random).
    netcore::detail::SignalChannel client(server.public_key);
    {
        const auto c = challenge(server.public_key, 0x5A, 0xC0);
        protocol::Envelope e;
        if (protocol::decode_envelope(c, e) != protocol::DecodeError::ok) return 1;
        client.on_challenge(e, true);
    }
    const auto client_key = client.key_pair().public_key;
    const auto client_sealed = [&](const protocol::Message& m) {
        return sealed_by([&](std::span<std::uint8_t> o) { return client.seal(m, o); });
    };
    const auto reg = client_sealed(protocol::RegisterRequest{1, "alice", lan});
    const auto intro_request = client_sealed(protocol::IntroduceRequest{1, "bob"});

    // A pair of peers of another introduction than fuzz_peer_channel's (whose probes would
    // open there): probes and data with real boxes that must not open.
    netcore::detail::PeerChannel alice, bob;
    {
        const auto a = fixed_keys(0x11, 7);
        const auto b = fixed_keys(0x22, 7);
        protocol::Introduction to_alice{
            0x0123456789ABCDEFull + 1, protocol::Role::initiator, "bob", pub, {}, {}, b.public_key};
        protocol::Introduction to_bob = to_alice;
        to_bob.role = protocol::Role::responder;
        to_bob.peer = "alice";
        to_bob.peer_key = a.public_key;
        if (!alice.begin(a, "alice", to_alice) || !bob.begin(b, "bob", to_bob)) return 1;
    }
    const auto probe = sealed_by([&](std::span<std::uint8_t> o) {
        return alice.seal_probe(protocol::Probe{7, 1}, o);
    });
    {
        protocol::Envelope e;
        std::array<std::uint8_t, protocol::kMaxDatagramSize> scratch{};
        protocol::Message m;
        if (protocol::decode_envelope(probe, e) != protocol::DecodeError::ok ||
            bob.open_probe(e, scratch, m) != netcore::detail::PeerChannel::Drop::none)
            return 1;
    }
    const auto ack = sealed_by([&](std::span<std::uint8_t> o) {
        return bob.seal_probe(protocol::ProbeAck{7, 1, pub}, o);
    });
    const Bytes enet = {0x80, 0x00, 0x12, 0x34, 0x82, 0xFF, 0x00, 0x01};
    const auto data = sealed_by([&](std::span<std::uint8_t> o) { return bob.seal_data(enet, o); });

    Bytes refused(protocol::kVersionRefusedSize);
    refused.resize(protocol::encode_version_refused(refused));
    const auto from_server =
        server_sealed(server, client_key, 0x5A, 1, protocol::RegisterAck{1, pub, 15000, 45000});

    std::vector<Bytes> envelopes = {hello(client_key),
                                    challenge(server.public_key, 0x5A, 0xC0),
                                    refused,
                                    reg,
                                    intro_request,
                                    from_server,
                                    probe,
                                    ack,
                                    data};
    std::vector<Bytes> protocol_seeds = envelopes;
    protocol_seeds.insert(protocol_seeds.end(), messages.begin(), messages.end());
    write(root / "protocol", protocol_seeds);

    // ---- peer: probes and data of another introduction, one datagram each ----
    write(root / "peer", {probe, ack, data});

    // ---- signal: records [flags][length][datagram] ----
    const auto other_server = fixed_keys(0x77, 3);
    Bytes restart;  // the server restarted: a new salt, taken
    record(restart, 1, challenge(server.public_key, 0x5B, 0xC1));
    record(restart, 0, server_sealed(server, client_key, 0x5B, 1, protocol::PeerUnknown{"bob"}));
    Bytes cookie;  // a new cookie, then a new salt that may not be taken, then an impostor
    record(cookie, 0, challenge(server.public_key, 0x5A, 0xC2));
    record(cookie, 0, challenge(server.public_key, 0x5C, 0xC3));
    record(cookie, 1, challenge(other_server.public_key, 0x5A, 0xC0));
    Bytes sealed;  // what the server seals (for a client key this run never has)
    record(sealed, 0, from_server);
    record(sealed, 0,
           server_sealed(server, client_key, 0x5A, 2,
                         protocol::Introduction{7, protocol::Role::initiator, "bob", pub, lan,
                                                grant, peer_key}));
    write(root / "signal", {restart, cookie, sealed});

    // ---- stun: what the STUN codec reads (fuzz_stun_message): Binding requests as the
    // rendezvous gets them (bare; with SOFTWARE and FINGERPRINT; RFC 3489's, without the cookie),
    // RFC 5769's samples, and, at the end of this file, what a TURN server sends the TURN client.
    namespace stun = netcore::detail::stun;
    // Bytes 4..19: the magic cookie and a 96-bit transaction id.
    const stun::LegacyTransactionId id = {0x21, 0x12, 0xA4, 0x42, 1, 2,  3,  4,
                                          5,    6,    7,    8,    9, 10, 11, 12};
    const auto message = [](stun::Method method, stun::Class cls,
                            const stun::LegacyTransactionId& with, const auto& add) {
        Bytes b(512);
        auto w = stun::Writer::echoing(b, method, cls, with);
        add(w);
        b.resize(w.bytes().size());
        return b;
    };
    const Bytes binding =
        message(stun::Method::binding, stun::Class::request, id, [](stun::Writer&) {});
    const Bytes full =
        message(stun::Method::binding, stun::Class::request, id, [](stun::Writer& w) {
            w.add(stun::Attr::software, std::string_view("fuz"));
            w.add_fingerprint();
        });
    // RFC 3489: no cookie, CHANGE-REQUEST with no change asked.
    auto legacy = id;
    legacy[0] = 0xAB;
    const Bytes classic =
        message(stun::Method::binding, stun::Class::request, legacy,
                [](stun::Writer& w) { w.add_u32(stun::Attr::change_request, 0); });
    std::vector<Bytes> stun_seeds = {binding,
                                     full,
                                     classic,
                                     rfc5769::kSampleRequest,
                                     rfc5769::kSampleResponse,
                                     rfc5769::kSampleLongTerm};

    // ---- handle: the server's input (records [sender/steps][length][datagram]) ----
    // Two clients say Hello and seal Registers (under the fixed server key, salt 0x5A: they open
    // only at a server with that key and salt), one asks for the other; STUN beside them, and a
    // version-1 Register (answered with VersionRefused).
    netcore::detail::SignalChannel bob_client(server.public_key);
    {
        const auto c = challenge(server.public_key, 0x5A, 0xC0);
        protocol::Envelope e;
        if (protocol::decode_envelope(c, e) != protocol::DecodeError::ok) return 1;
        bob_client.on_challenge(e, true);
    }
    const auto bob_reg = sealed_by([&](std::span<std::uint8_t> o) {
        return bob_client.seal(protocol::RegisterRequest{2, "bob", {}}, o);
    });
    Bytes v1 = {'N', 'C', 'R', 'V', 1, 0x01, 0, 0, 0, 0, 0, 0, 0, 1};
    v1.insert(v1.end(), protocol::kCookieSize, 0);
    v1.insert(v1.end(), {5, 'a', 'l', 'i', 'c', 'e', 0});
    Bytes session;
    record(session, sender(0, 0), hello(client_key));
    record(session, sender(2, 1), hello(bob_client.key_pair().public_key));
    record(session, sender(0, 1), reg);
    record(session, sender(2, 1), bob_reg);
    record(session, sender(0, 1), intro_request);
    record(session, sender(3, 0), full);
    record(session, sender(1, 8), v1);
    write(root / "handle", {session, hello(client_key), binding});

    // ---- stun, continued: what a TURN server sends the TURN client ----
    const auto key = stun::IntegrityKey::long_term("user", "netcore.test", "pass");
    const auto turn = [&](stun::Method method, stun::Class cls, const auto& add) {
        return message(method, cls, id, add);
    };
    const netcore::Address peer{0xCB007107u, 6000};
    for (Bytes& b : std::vector<Bytes>{
             turn(stun::Method::allocate, stun::Class::error,
                  [](stun::Writer& w) {
                      w.add_error_code(401, "Unauthorized");
                      w.add(stun::Attr::realm, std::string_view("netcore.test"));
                      w.add(stun::Attr::nonce, std::string_view("fuzz-nonce"));
                  }),
             turn(stun::Method::refresh, stun::Class::error,
                  [](stun::Writer& w) {
                      w.add_error_code(438, "Stale Nonce");
                      w.add(stun::Attr::nonce, std::string_view("fuzz-nonce-2"));
                  }),
             turn(stun::Method::allocate, stun::Class::success,
                  [&](stun::Writer& w) {
                      w.add_xor_address(stun::Attr::xor_relayed_address, {0x7F000001u, 50000});
                      w.add_xor_address(stun::Attr::xor_mapped_address, pub);
                      w.add_u32(stun::Attr::lifetime, 600);
                      w.add_integrity(key);
                  }),
             turn(stun::Method::data, stun::Class::indication,
                  [&](stun::Writer& w) {
                      w.add_xor_address(stun::Attr::xor_peer_address, peer);
                      w.add(stun::Attr::data, std::string_view("hello"));
                  }),
             Bytes{0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'},
             Bytes{0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0}})
        stun_seeds.push_back(std::move(b));
    write(root / "stun", stun_seeds);

    // ---- ticket: resumption tickets as a game stores them (fuzz_ticket) ----
    netcore::ResumeTicket ticket;
    ticket.server = {0xCB00710Au, 7777};
    ticket.server_key = server.public_key;
    ticket.salt.fill(0x5A);
    ticket.cookie.fill(0xC0);
    ticket.observed = pub;
    const std::string text = ticket.to_text();
    std::string upper = text;
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    const auto as_bytes = [](const std::string& s) { return Bytes(s.begin(), s.end()); };
    write(root / "ticket", {as_bytes(text), as_bytes(" " + text + "\n"), as_bytes(upper)});
    return 0;
}
