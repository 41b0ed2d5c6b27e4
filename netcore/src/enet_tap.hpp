// A loopback "tap": the address ENet knows one remote peer by. ENet has a receive hook
// (ENetHost::intercept) but no send hook, so to seal what ENet sends to a peer we tell ENet the
// peer lives at a UDP socket of ours on 127.0.0.1; what ENet sends there is read back here, and
// the caller seals it and sends it on ENet's own socket to the peer's real address.
#pragma once

#include <enet/enet.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "netcore/address.hpp"

namespace netcore::detail {

class EnetTap {
  public:
    /// Receives per drain() at most: a runaway sender cannot hold a frame longer than this.
    /// ENet sends a peer at most a window of ~64 datagrams per service, so this is generous.
    static constexpr std::size_t kMaxReadsPerDrain = 1024;
    /// Requested receive buffer (bytes): a full ENet window of 1400-byte datagrams (~64 of them,
    /// ~150 KiB of kernel memory on loopback) must fit between two drains. Linux caps it at
    /// net.core.rmem_max (and doubles it for its bookkeeping).
    static constexpr int kReceiveBuffer = 1 << 20;

    EnetTap() = default;
    ~EnetTap();
    EnetTap(EnetTap&& other) noexcept;
    EnetTap& operator=(EnetTap&& other) noexcept;
    EnetTap(const EnetTap&) = delete;
    EnetTap& operator=(const EnetTap&) = delete;

    /// Binds a non-blocking UDP socket to 127.0.0.1:0. Only datagrams whose source port is
    /// `enet_port` (ENet's socket) are handed out. False if the socket cannot be made.
    bool open(std::uint16_t enet_port);
    [[nodiscard]] bool is_open() const { return socket_ != ENET_SOCKET_NULL; }

    /// The tap's address: what ENet is told the peer is (enet_host_connect, receivedAddress).
    [[nodiscard]] Address address() const { return address_; }

    /// Reads every pending datagram without blocking (at most kMaxReadsPerDrain) and calls
    /// `on_datagram(std::span<const std::uint8_t>)` for each one from ENet's port; the view is
    /// valid during the call only. Returns how many were handed out.
    template <class F>
    std::size_t drain(F&& on_datagram) {
        std::array<std::uint8_t, ENET_PROTOCOL_MAXIMUM_MTU> buffer;  // ENet's own receive size
        std::size_t handed = 0;
        for (std::size_t reads = 0; reads < kMaxReadsPerDrain; ++reads) {
            std::span<const std::uint8_t> datagram;
            const Read r = read_one(buffer, datagram);
            if (r == Read::empty) break;
            if (r != Read::datagram) continue;
            on_datagram(datagram);
            ++handed;
        }
        return handed;
    }

    /// Datagrams dropped because they did not come from ENet's port (another local process).
    [[nodiscard]] std::uint64_t dropped_foreign() const { return dropped_foreign_; }
    /// Datagrams dropped because they did not fit ENET_PROTOCOL_MAXIMUM_MTU bytes (or the read
    /// failed: ENet's portable socket layer reports both as -1).
    [[nodiscard]] std::uint64_t dropped_oversize() const { return dropped_oversize_; }

  private:
    enum class Read { empty, datagram, dropped };
    Read read_one(std::span<std::uint8_t> buffer, std::span<const std::uint8_t>& datagram);
    void close();

    ENetSocket socket_ = ENET_SOCKET_NULL;
    Address address_;
    std::uint16_t enet_port_ = 0;
    std::uint64_t dropped_foreign_ = 0;
    std::uint64_t dropped_oversize_ = 0;
};

}  // namespace netcore::detail
