// rendezvous — one non-blocking UDP socket through ENet's portable layer (enet_socket_*), with
// a Linux fast path that moves a batch of datagrams per system call (recvmmsg/sendmmsg).
#pragma once

#include <enet/enet.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "netcore/address.hpp"
#include "outbox.hpp"

namespace rendezvous {

/// A bound, non-blocking IPv4 UDP socket. Addresses are netcore's (host byte order).
class UdpSocket {
  public:
    UdpSocket() = default;
    ~UdpSocket() { close(); }
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    /// Binds to `bind` (ip 0 = every interface, port 0 = an ephemeral port).
    /// Returns an empty string, or one sentence saying why it failed.
    [[nodiscard]] std::string open(netcore::Address bind);
    void close();
    [[nodiscard]] bool is_open() const { return socket_ != ENET_SOCKET_NULL; }

    /// The address actually bound (the real port when 0 was asked for).
    [[nodiscard]] netcore::Address local() const { return local_; }

    enum class Wait : std::uint8_t { readable, timeout, interrupted, error };
    /// Waits until a datagram can be read, at most `timeout_ms`. A signal ends the wait early.
    [[nodiscard]] Wait wait(std::uint32_t timeout_ms);

    /// Reads one datagram into `buffer`.
    /// @retval >0 its size; `from` is its source
    /// @retval 0  nothing to read (ENet cannot tell this from an empty datagram)
    /// @retval -1 an error; the datagram, if any, is consumed (one larger than `buffer` is)
    [[nodiscard]] int receive(std::span<std::uint8_t> buffer, netcore::Address& from);

    /// Sends one datagram. Returns false if the system did not take all of it.
    bool send(netcore::Address to, std::span<const std::uint8_t> bytes);

    // ---- batches: one system call for many datagrams on Linux, a loop of the above elsewhere ----

    /// The most datagrams receive_batch() returns at once.
    static constexpr std::size_t kBatchSize = 32;

    /// One datagram of a batch. `bytes` points into the socket's own buffers: valid until the next
    /// receive_batch() or close().
    struct Received {
        std::span<const std::uint8_t> bytes;
        netcore::Address from;
    };

    /// Reads up to kBatchSize datagrams, each whole (up to 65 536 bytes), into `out`.
    /// Empty datagrams are skipped, as receive() cannot see them either.
    /// @retval >0 how many are in `out`
    /// @retval 0  nothing to read
    /// @retval -1 an error before anything was read
    [[nodiscard]] int receive_batch(std::vector<Received>& out);

    /// Sends `datagrams` in order until one fails. Returns how many were sent whole from the
    /// front: fewer than all means datagrams[returned] failed (the caller skips it and goes on).
    [[nodiscard]] std::size_t send_batch(std::span<const Datagram> datagrams);

  private:
    ENetSocket socket_ = ENET_SOCKET_NULL;
    // receive_batch()'s buffers: kBatchSize slots of a whole UDP datagram each. Only the pages
    // that datagrams touch become resident.
    std::vector<std::uint8_t> slots_;
    netcore::Address local_;
    bool enet_initialized_ = false;
};

}  // namespace rendezvous
