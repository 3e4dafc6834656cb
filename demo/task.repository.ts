import { Injectable } from '@nestjs/common';
import type { Task, TaskState } from './task';

/** The demo's task table, in memory: in a real gateway this is the database. */
@Injectable()
export class TaskRepository {
  private readonly tasks = new Map<string, Task>();

  insert(task: Omit<Task, 'createdAt' | 'updatedAt' | 'attempts' | 'state'>): Task {
    const now = new Date().toISOString();
    const row: Task = { ...task, state: 'queued', attempts: 0, createdAt: now, updatedAt: now };
    this.tasks.set(row.id, row);
    return row;
  }

  find(id: string): Task | undefined {
    return this.tasks.get(id);
  }

  inState(state: TaskState): Task[] {
    return [...this.tasks.values()].filter((task) => task.state === state);
  }

  /** Ids of the model's tasks that hold a slot: queued or running, as the gate counts them. */
  activeIds(model: string): string[] {
    return [...this.tasks.values()]
      .filter(
        (task) => task.model === model && (task.state === 'queued' || task.state === 'running'),
      )
      .map((task) => task.id);
  }

  setState(task: Task, state: TaskState): void {
    task.state = state;
    task.updatedAt = new Date().toISOString();
  }
}
