// sample_game host — the contract between a transport module and game modules.
//
// The net module (modules/net) implements it with netcore; a game module (modules/squares) uses
// only this header, so it never includes netcore and can be tested over an in-memory link.
//
//   net  --PeerJoined-->  bus  -->  squares     a peer session began
//   net  --PeerData---->  bus  -->  squares     bytes from the peer
//   net  --PeerLeaving->  bus  -->  squares     we are about to leave: last words now
//   net  --PeerLeft---->  bus  -->  squares     the peer session ended (either side, or the path)
//   squares  --PeerLink::send-->  net           bytes to the peer
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace host {

enum class Delivery : std::uint8_t {
    reliable,    ///< arrives once, in order (join, leave, hello)
    unreliable,  ///< may be lost; a late one is dropped (state updates)
};

struct PeerJoined {
    std::string local_name;
    std::string peer_name;
};

struct PeerData {
    Delivery delivery = Delivery::reliable;
    std::vector<std::uint8_t> bytes;
};

struct PeerLeaving {};

struct PeerLeft {
    std::string reason;  ///< one human sentence, for the player
};

class PeerLink {
  public:
    virtual ~PeerLink() = default;
    /// False when there is no peer or the transport refused.
    virtual bool send(Delivery delivery, std::span<const std::uint8_t> bytes) = 0;
    [[nodiscard]] virtual bool connected() const = 0;
};

}  // namespace host
