// No reflection (issue 11, docs/RENDEZVOUS.md "Amplification"): a registered client that asks
// for an open host, and never answers, gets from it at most 2x the bytes of its own
// IntroduceRequests. The requester plays the attacker: its LAN candidates are sockets of its
// own, and it reaches the rendezvous through a socket in front of it (`front`), where the
// server sees it, and where it counts what it asks and what the victim sends back.
#include <catch2/catch.hpp>

#include <cstdio>

#include "attacker.hpp"
#include "loopback.hpp"
#include "netcore/protocol.hpp"

using namespace netcore;
using loopback::Lab;
using loopback::Node;
using namespace std::chrono_literals;

TEST_CASE("an open host sends a requester that never answers at most 2x what it asked with",
          "[reflection]") {
    Lab lab;
    Node& victim = lab.add(lab.config("victim"));  // an open host: anyone may ask for it

    attacker::Udp front;
    std::array<attacker::Udp, protocol::kMaxLanAddresses> lan;
    Config ac = lab.config("mallory");
    ac.server = front.address();
    for (const auto& s : lan) ac.lan_addresses.push_back(s.address());
    Node& mallory = lab.add(ac);
    const Address mallory_at{0x7F000001u, mallory.session->local_address().port};
    const Address victim_at{0x7F000001u, victim.session->local_address().port};

    // The size of one IntroduceRequest for "victim": the clear head, then the sealed type,
    // instance, name length and name, and the tag (PROTOCOL.md §2.3, §4.4).
    constexpr std::size_t kRequestSize =
        protocol::kClientSealedHead + 1 + 8 + 1 + 6 + protocol::kTagSize;  // 94 bytes
    std::size_t requests = 0;
    std::uint64_t asked = 0;      // bytes of mallory's IntroduceRequests
    std::uint64_t reflected = 0;  // bytes the victim sent to mallory's addresses
    std::size_t to_lan = 0;       // datagrams that reached mallory's LAN candidates
    bool registered = false;
    lab.each_step.push_back([&] {
        while (auto d = front.receive()) {
            const auto& [data, from] = *d;
            if (from == mallory_at) {
                front.send(lab.server_address(), data);
                if (registered && data.size() == kRequestSize) {
                    ++requests;
                    asked += data.size();
                }
            } else if (from == lab.server_address()) {
                // Until registered, mallory hears the server. Then it never learns it was
                // introduced: it only keeps asking, the way a reflecting attacker would.
                if (!registered) front.send(mallory_at, data);
            } else {
                CHECK(from == victim_at);
                reflected += data.size();
            }
        }
        for (const auto& s : lan)
            while (auto d = s.receive()) {
                reflected += d->first.size();
                ++to_lan;
            }
    });
    REQUIRE(lab.run_until([&] {
        return mallory.count(EventType::registered) == 1 &&
               victim.count(EventType::registered) == 1;
    }));
    registered = true;
    REQUIRE(mallory.session->connect("victim", 10000ms) == Error::none);
    // Past the victim's punch timeout (3 s in the lab), so a second punch begins too.
    lab.run_for(4000ms);

    INFO("requests " << requests << ", asked " << asked << " B, reflected " << reflected << " B");
    REQUIRE(victim.count(EventType::introduced) >= 1);
    REQUIRE(requests >= 10);  // every request_retry (200 ms in the lab)
    CHECK(reflected > 0);     // the victim did probe the requester's public address...
    CHECK(to_lan == 0);       // ...and nothing else before it heard the peer
    CHECK(reflected <= 2 * asked);
    CHECK(victim.session->stats().probes_received == 0);
    std::printf(
        "reflection: %zu IntroduceRequests, %llu bytes asked, %llu bytes reflected (%.2fx)\n",
        requests, static_cast<unsigned long long>(asked),
        static_cast<unsigned long long>(reflected),
        static_cast<double>(reflected) / static_cast<double>(asked));
}
