// sample_game host — the contract between a transport module and game modules.
//
// The net module (modules/net) implements it with netcore; a game module (modules/squares) uses
// only this header, so it never includes netcore and can be tested over an in-memory link.
// A game has one peer (two players) or several (a party); each peer has a handle.
//
//   net  --Roster------>  bus  -->  squares     the game began, or its players changed
//   net  --PeerJoined-->  bus  -->  squares     a connection to one peer is up
//   net  --PeerData---->  bus  -->  squares     bytes from one peer
//   net  --PeerLeft---->  bus  -->  squares     one peer is gone (it left, or its path broke)
//   net  --PeerLeaving->  bus  -->  squares     we are about to leave: last words now
//   net  --GameEnded--->  bus  -->  squares     the game is over for us: back to the lobby
//   squares  --PeerLink::send / send_to-->  net  bytes to every peer, or to one
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

/// The transport's name for one peer, for as long as the transport runs (netcore's PeerId).
using PeerHandle = std::uint32_t;

/// Who plays: published when the game begins and whenever its players change. Every player's
/// `players` lists the same names in the same order, so each computes the same spawn slots and
/// colours without asking anyone.
struct Roster {
    std::string local_name;
    std::vector<std::string> players;  ///< us included; a party's in join order, a pair sorted
    std::string party;                 ///< empty: a two-player game
    std::string host;                  ///< the party's host (its oldest member); empty for a pair
};

struct PeerJoined {
    std::string local_name;
    std::string peer_name;
    PeerHandle peer = 0;
};

struct PeerData {
    PeerHandle peer = 0;
    Delivery delivery = Delivery::reliable;
    std::vector<std::uint8_t> bytes;
};

struct PeerLeft {
    PeerHandle peer = 0;
    std::string reason;  ///< one human sentence, for the player
};

struct PeerLeaving {};

struct GameEnded {
    std::string reason;  ///< one human sentence, for the player
};

class PeerLink {
  public:
    virtual ~PeerLink() = default;
    /// To every connected peer. False when none is connected or the transport refused.
    virtual bool send(Delivery delivery, std::span<const std::uint8_t> bytes) = 0;
    /// To one peer. False when it is not connected or the transport refused.
    virtual bool send_to(PeerHandle peer, Delivery delivery,
                         std::span<const std::uint8_t> bytes) = 0;
    /// True while at least one peer is connected.
    [[nodiscard]] virtual bool connected() const = 0;
};

}  // namespace host
