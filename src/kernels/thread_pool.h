// A fixed set of worker threads that run one parallel loop at a time. The calling thread
// takes part, so a pool of n threads starts n - 1 workers. Tasks are handed out one by
// one from a shared counter, which balances uneven work without any planning.
//
// Workers spin briefly after each loop (decode issues hundreds of short loops per token,
// and waking a sleeping thread costs more than a short loop), then sleep on a futex.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace lockstep::kernels {

class ThreadPool {
public:
    // n_threads <= 0: one per hardware thread.
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return static_cast<int>(workers_.size()) + 1; }

    // Calls fn(task, thread) for every task in [0, n_tasks) and returns when all are done;
    // `thread` is in [0, size()). fn must not throw.
    template <class Fn>
    void run(int64_t n_tasks, Fn&& fn) {
        if (n_tasks <= 0) return;
        if (workers_.empty() || n_tasks == 1) {
            for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
            return;
        }
        run_erased(n_tasks, &fn, [](void* f, int64_t task, int thread) { (*static_cast<Fn*>(f))(task, thread); });
    }

private:
    using Trampoline = void (*)(void*, int64_t, int);
    void run_erased(int64_t n_tasks, void* fn, Trampoline trampoline);
    void worker_loop(int thread);
    void work(int thread);

    std::vector<std::thread> workers_;
    std::atomic<uint32_t> generation_{0};  // bumped to start a loop (and to stop)
    std::atomic<uint32_t> busy_{0};        // workers still inside the current loop
    std::atomic<int64_t> next_task_{0};
    std::atomic<bool> stopping_{false};
    int64_t n_tasks_ = 0;
    void* fn_ = nullptr;
    Trampoline trampoline_ = nullptr;
};

}  // namespace lockstep::kernels
