#include "datagram_path.hpp"

namespace netcore::detail {

using namespace protocol;

bool PeerLink::begin(const crypto::KeyPair& me, std::string_view my_name, const Introduction& intro,
                     bool sealed, std::uint16_t enet_port, const crypto::SymmetricKey* identity) {
    end();
    if (!channel.begin(me, my_name, intro, identity)) return false;
    if (sealed) {
        tap.emplace();
        if (!tap->open(enet_port)) {
            end();
            return false;
        }
    }
    return true;
}

void PeerLink::end() {
    channel.end();
    tap.reset();
    data_from = {};
    relayed.reset();
}

void DatagramPath::drop(PeerChannel::Drop why) {
    ++dropped_;
    if (why == PeerChannel::Drop::unauthenticated) ++unauthenticated_;
}

bool DatagramPath::route(Incoming& in, PeerLink& peer, Receiver& receiver) {
    Envelope envelope;
    const auto err = decode_envelope(in.data, envelope);
    if (err == DecodeError::not_ours) {
        if (!sealed_) return false;                // the benchmark's plaintext ENet
        drop(PeerChannel::Drop::unauthenticated);  // nothing unsealed reaches ENet
        return true;
    }
    if (err != DecodeError::ok) {
        if (err == DecodeError::bad_version && in.from == server_)
            receiver.on_server_version(wire_version(in.data));
        drop(PeerChannel::Drop::malformed);
        return true;
    }
    switch (envelope.type) {
        case EnvelopeType::peer_probe: {
            if (!peer.active()) {
                drop(PeerChannel::Drop::unauthenticated);
                return true;
            }
            if (!peer.admits(in.from)) {
                drop(PeerChannel::Drop::malformed);
                return true;
            }
            Message message;
            const auto why = peer.channel.open_probe(envelope, scratch_, message);
            if (why != PeerChannel::Drop::none) {
                drop(why);
                return true;
            }
            receiver.on_probe(message, in.from);
            return true;
        }
        case EnvelopeType::peer_data:
            return !on_data(envelope, in, peer);
        default:
            if (in.from != server_) {
                drop(PeerChannel::Drop::malformed);  // only the server speaks these
                return true;
            }
            receiver.on_server(envelope, in.from);
            return true;
    }
}

// One sealed ENet datagram: opened in place inside ENet's buffer, and handed to ENet as coming
// from the tap, the address ENet knows the peer by. True when ENet should parse it.
bool DatagramPath::on_data(const Envelope& envelope, Incoming& in, PeerLink& peer) {
    if (!peer.tap || !peer.active() || envelope.channel != peer.channel.channel()) {
        drop(PeerChannel::Drop::unauthenticated);
        return false;
    }
    if (!peer.admits(in.from)) {
        drop(PeerChannel::Drop::malformed);
        return false;
    }
    // The view is into ENet's own receive buffer, which is writable: open in place.
    auto* base = const_cast<std::uint8_t*>(envelope.box.data());
    std::span<const std::uint8_t> plain;
    const auto why = peer.channel.open_data(envelope, {base, envelope.box.size()}, plain);
    if (why != PeerChannel::Drop::none) {
        drop(why);
        return false;
    }
    peer.data_from = in.from;
    in.data = plain;
    in.from = peer.tap->address();
    return true;
}

std::size_t DatagramPath::pump(PeerLink& peer, Address to, RawOutbox& out) {
    if (!peer.tap) return 0;
    std::size_t sent = 0;
    peer.tap->drain([&](std::span<const std::uint8_t> datagram) {
        std::array<std::uint8_t, ENET_PROTOCOL_MAXIMUM_MTU + kDataOverhead> buf;
        const std::size_t n = peer.channel.seal_data(datagram, buf);
        if (n == 0 || to.empty()) return;
        out.send_raw(to, std::span(buf.data(), n));
        ++sent;
    });
    return sent;
}

}  // namespace netcore::detail
