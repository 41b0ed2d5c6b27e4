#include "datagram_path.hpp"

namespace netcore::detail {

using namespace protocol;

bool PeerLink::begin(const crypto::KeyPair& me, std::string_view my_name, const Introduction& intro,
                     const crypto::SymmetricKey* identity) {
    end();
    return channel.begin(me, my_name, intro, identity);
}

void PeerLink::end() {
    channel.end();
    relayed.reset();
    framer = nullptr;
}

// A session has one peer today, so whatever ENet sends goes to this link's peer: the session lets
// only this peer's opened datagrams reach ENet, so every ENet peer is this one (a second CONNECT
// of its, say). With several peers (a party), the datagram itself says whose it is: its checksum
// slot holds the connection's connectID (0 in a CONNECT, whose body carries the connectID
// instead), which each peer's link would be found by.
std::size_t PeerLink::seal_enet(std::span<const std::uint8_t> datagram,
                                std::span<std::uint8_t> out) {
    if (!active() || !channel.data_ready()) return 0;
    if (framer == nullptr) return channel.seal_data(datagram, out);
    const std::size_t n = channel.seal_data(datagram, framing_);
    return n == 0 ? 0 : framer->frame({framing_.data(), n}, out);
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

// One sealed ENet datagram: opened in place inside ENet's buffer, and handed to ENet from where
// it came. True when ENet should parse it.
bool DatagramPath::on_data(const Envelope& envelope, Incoming& in, PeerLink& peer) {
    if (!sealed_ || !peer.active() || envelope.channel != peer.channel.channel()) {
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
    // ENet 1.3.17 reads its checksum slot without checking the datagram holds it (protocol.c,
    // lines 1020-1021 and 1063): our peer's ENet always sends one, so anything shorter is not
    // ENet's.
    if (!enet_checksum_slot(plain)) {
        drop(PeerChannel::Drop::malformed);
        return false;
    }
    in.data = plain;
    return true;
}

}  // namespace netcore::detail
