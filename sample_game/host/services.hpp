// sample_game host — how modules find each other without including each other.
//
// Services: one object per interface type, provided by the module that owns it and looked up
// by the modules that use it (the net module provides PeerLink; the squares module uses it).
// Bus: fire-and-forget typed messages, delivered at once to every subscriber in subscription
// order (the net module publishes PeerJoined; whoever cares subscribes).
#pragma once

#include <functional>
#include <map>
#include <typeindex>
#include <vector>

namespace host {

class Services {
  public:
    /// Makes `service` findable as T. The provider keeps ownership and must outlive users.
    template <typename T>
    void provide(T* service) {
        table_[std::type_index(typeid(T))] = static_cast<void*>(service);
    }

    /// The provider of T, or nullptr when no module provides it.
    template <typename T>
    [[nodiscard]] T* find() const {
        auto it = table_.find(std::type_index(typeid(T)));
        return it == table_.end() ? nullptr : static_cast<T*>(it->second);
    }

  private:
    std::map<std::type_index, void*> table_;
};

class Bus {
  public:
    template <typename T>
    void subscribe(std::function<void(const T&)> handler) {
        handlers_[std::type_index(typeid(T))].push_back(
            [h = std::move(handler)](const void* message) { h(*static_cast<const T*>(message)); });
    }

    /// Delivers `message` to every subscriber of T now, in subscription order.
    template <typename T>
    void publish(const T& message) const {
        auto it = handlers_.find(std::type_index(typeid(T)));
        if (it == handlers_.end()) return;
        for (const auto& handler : it->second) handler(&message);
    }

  private:
    std::map<std::type_index, std::vector<std::function<void(const void*)>>> handlers_;
};

}  // namespace host
