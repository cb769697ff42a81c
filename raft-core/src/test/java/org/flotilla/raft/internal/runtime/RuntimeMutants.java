package org.flotilla.raft.internal.runtime;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns the runtime's test-only bug switches ({@link Mutations}) on and off, for the bug catalogue
 * tests in other packages. Not thread-safe: call it on the test's thread, before and after a
 * simulation, never while nodes run on other threads.
 */
public final class RuntimeMutants {

  /** The runtime mutants, one per switch of {@link Mutations}. */
  public enum Mutant {
    /** {@link Mutations#sessionsApplyDuplicates}. */
    SESSION_DEDUP_OFF,
    /** {@link Mutations#readBeforeApplied}. */
    READ_BEFORE_APPLIED,
    /** {@link Mutations#followerReadsLocally}. */
    FOLLOWER_READ_WITHOUT_READ_INDEX,
    /** {@link Mutations#durableOnAppend}. */
    DURABLE_BEFORE_SYNC
  }

  private RuntimeMutants() {}

  /**
   * Turns one mutant on (and every other off).
   *
   * @param m the mutant
   */
  public static void enable(Mutant m) {
    reset();
    switch (m) {
      case SESSION_DEDUP_OFF -> Mutations.sessionsApplyDuplicates = true;
      case READ_BEFORE_APPLIED -> Mutations.readBeforeApplied = true;
      case FOLLOWER_READ_WITHOUT_READ_INDEX -> Mutations.followerReadsLocally = true;
      case DURABLE_BEFORE_SYNC -> Mutations.durableOnAppend = true;
    }
  }

  /** Turns every mutant off. */
  public static void reset() {
    Mutations.sessionsApplyDuplicates = false;
    Mutations.readBeforeApplied = false;
    Mutations.followerReadsLocally = false;
    Mutations.durableOnAppend = false;
  }

  /**
   * Returns the names of the switches of {@link Mutations} that are on, found by reflection (so a
   * switch added without a way to reset it is seen).
   *
   * @return the names; empty when every switch is off
   */
  public static List<String> active() {
    List<String> on = new ArrayList<>();
    for (Field f : Mutations.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == boolean.class) {
        try {
          if (f.getBoolean(null)) {
            on.add(f.getName());
          }
        } catch (IllegalAccessException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    return on;
  }
}
