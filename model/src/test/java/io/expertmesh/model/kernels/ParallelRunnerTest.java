package io.expertmesh.model.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ParallelRunnerTest {
    @Test
    void everyIndexRunsExactlyOnceAcrossManyJobs() {
        try (var runner = new ParallelRunner(3)) {
            for (int job = 0; job < 200; job++) {
                int tasks = 1 + job % 37;
                var counts = new AtomicIntegerArray(tasks);
                runner.run(tasks, counts::incrementAndGet);
                for (int i = 0; i < tasks; i++) assertEquals(1, counts.get(i), "job " + job + " index " + i);
            }
        }
    }

    @Test
    void aFailingTaskFailsTheJobAndTheRunnerKeepsWorking() {
        try (var runner = new ParallelRunner(2)) {
            var e = assertThrows(IllegalStateException.class, () -> runner.run(50, i -> {
                if (i == 31) throw new IllegalStateException("task 31");
            }));
            assertEquals("task 31", e.getMessage());
            var counts = new AtomicIntegerArray(10);
            runner.run(10, counts::incrementAndGet);
            for (int i = 0; i < 10; i++) assertEquals(1, counts.get(i));
        }
    }
}
