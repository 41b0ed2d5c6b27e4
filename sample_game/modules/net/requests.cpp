#include "modules/net/requests.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace net {

void IncomingRequests::add(std::string_view name, netcore::TimePoint now) {
    const auto it =
        std::find_if(list_.begin(), list_.end(), [&](const Request& r) { return r.name == name; });
    if (it != list_.end()) {
        it->last = now;
        return;
    }
    if (list_.size() == kMaxShown) list_.erase(list_.begin());
    list_.push_back({std::string(name), now, now});
}

void IncomingRequests::remove(std::string_view name) {
    std::erase_if(list_, [&](const Request& r) { return r.name == name; });
}

void IncomingRequests::expire(netcore::TimePoint now) {
    std::erase_if(list_, [&](const Request& r) { return now - r.last >= kShownFor; });
}

std::string IncomingRequests::describe(const Request& r, netcore::TimePoint now) {
    const auto ago = std::chrono::duration_cast<std::chrono::seconds>(now - r.first).count();
    char text[96];
    if (ago < 1) {
        std::snprintf(text, sizeof text, "%s wants to play (just now)", r.name.c_str());
    } else {
        std::snprintf(text, sizeof text, "%s wants to play (%lld s ago)", r.name.c_str(),
                      static_cast<long long>(ago));
    }
    return text;
}

bool AutoAccept::accepts(std::string_view name) const {
    return anyone || std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace net
