package org.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;
import org.flotilla.raft.internal.core.CoreMutants;
import org.flotilla.raft.internal.core.CoreOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bug catalogue (docs/testing.md): each seeded bug of the protocol core ({@link CoreMutants})
 * must be found by the core simulator, searching seeds 1, 2, 3, ... with the stated settings,
 * within the stated budget of seeds. A mutant that survives its budget means the simulator lost the
 * power to find a real Raft bug. {@code -Dflotilla.mutant=NAME} runs one mutant's search.
 */
class CoreMutantCatalogueTest {

  /** Standard settings: 3 voters, 1 spare, 2,000 events, {@link FaultProfile#standard()}. */
  private static Simulation standard(long seed) {
    return Simulation.builder().seed(seed).voters(3).spares(1).build();
  }

  /**
   * Check-quorum off: a deposed leader keeps leading until it hears of the newer term, as in the
   * paper without thesis §6.2, so only the heartbeat round of ReadIndex protects its reads.
   */
  private static Simulation noCheckQuorum(long seed) {
    return Simulation.builder()
        .seed(seed)
        .voters(3)
        .spares(1)
        .options(
            CoreOptions.DEFAULTS
                .withTimeouts(10, 1)
                .withFlowControl(8, 4096)
                .withPreVoteAndCheckQuorum(true, false))
        .build();
  }

  /** One mutant of the catalogue: its name, the settings its search uses, and its seed budget. */
  record Entry(String mutant, String settings, int budget, LongFunction<Simulation> simulation) {
    @Override
    public String toString() {
      return mutant;
    }
  }

  static List<Entry> catalogue() {
    List<Entry> all =
        List.of(
            new Entry("ACK_BEFORE_DURABLE", "standard", 100, CoreMutantCatalogueTest::standard),
            new Entry("COMMIT_OLDER_TERM", "standard", 150, CoreMutantCatalogueTest::standard),
            new Entry("VOTE_WITHOUT_LOG_CHECK", "standard", 50, CoreMutantCatalogueTest::standard),
            new Entry("VOTE_NOT_PERSISTED", "standard", 50, CoreMutantCatalogueTest::standard),
            new Entry(
                "READ_INDEX_WITHOUT_ROUND",
                "check-quorum off",
                300,
                CoreMutantCatalogueTest::noCheckQuorum),
            new Entry("LEASE_WITHOUT_QUORUM", "standard", 50, CoreMutantCatalogueTest::standard),
            new Entry(
                "KEEP_CONFLICTING_ENTRIES", "standard", 50, CoreMutantCatalogueTest::standard),
            new Entry(
                "TRUNCATE_MATCHING_ENTRIES", "standard", 50, CoreMutantCatalogueTest::standard),
            new Entry(
                "STALE_SNAPSHOT_INSTALLED", "standard", 150, CoreMutantCatalogueTest::standard),
            new Entry("CONFIG_WHEN_COMMITTED", "standard", 50, CoreMutantCatalogueTest::standard),
            new Entry("TWO_CHANGES_IN_FLIGHT", "standard", 50, CoreMutantCatalogueTest::standard),
            new Entry("APPLY_BEFORE_COMMIT", "standard", 10, CoreMutantCatalogueTest::standard),
            new Entry("COMMIT_BEYOND_MATCH", "standard", 200, CoreMutantCatalogueTest::standard),
            new Entry(
                "NO_STEP_DOWN_ON_HIGHER_TERM", "standard", 50, CoreMutantCatalogueTest::standard));
    String one = System.getProperty("flotilla.mutant", "");
    if (one.isBlank()) {
      return all;
    }
    return all.stream().filter(e -> e.mutant().equals(one.trim())).toList();
  }

  @AfterEach
  void resetMutants() {
    CoreMutants.reset();
  }

  /** Every mutant switch of the core has an entry in the catalogue. */
  @Test
  void everyMutantIsCatalogued() {
    assertThat(List.of(catalogueNames())).containsExactlyInAnyOrderElementsOf(CoreMutants.names());
  }

  private static String[] catalogueNames() {
    List<Entry> all = new ArrayList<>();
    String saved = System.getProperty("flotilla.mutant");
    try {
      System.clearProperty("flotilla.mutant");
      all.addAll(catalogue());
    } finally {
      if (saved != null) {
        System.setProperty("flotilla.mutant", saved);
      }
    }
    return all.stream().map(Entry::mutant).toArray(String[]::new);
  }

  /** After a reset every switch is off, so a forgotten switch cannot leak into other tests. */
  @Test
  void resetSwitchesEveryMutantOff() throws ReflectiveOperationException {
    for (String name : CoreMutants.names()) {
      CoreMutants.enable(name);
    }
    CoreMutants.reset();
    Class<?> mutations = Class.forName("org.flotilla.raft.internal.core.Mutations");
    List<String> on = new ArrayList<>();
    int switches = 0;
    for (Field f : mutations.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == boolean.class) {
        switches++;
        f.setAccessible(true);
        if (f.getBoolean(null)) {
          on.add(f.getName());
        }
      }
    }
    assertThat(switches).isEqualTo(CoreMutants.names().size()).isPositive();
    assertThat(on).isEmpty();
    assertThat(CoreMutants.enabled()).isEmpty();
  }

  /** The simulator finds the mutant within its budget of seeds. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("catalogue")
  void simulatorCatchesMutant(Entry entry) {
    SimulationResult caught = null;
    try {
      CoreMutants.enable(entry.mutant());
      for (long seed = 1; seed <= entry.budget() && caught == null; seed++) {
        SimulationResult r = entry.simulation().apply(seed).run();
        if (!r.ok()) {
          caught = r;
        }
      }
    } finally {
      CoreMutants.reset();
    }
    assertThat(caught)
        .as("mutant %s survived %d seeds (%s)", entry.mutant(), entry.budget(), entry.settings())
        .isNotNull();
    String first = caught.violations().get(0).lines().findFirst().orElse("");
    System.out.printf(
        "mutant %s: caught at seed %d (budget %d, %s): %s%n",
        entry.mutant(), caught.seed(), entry.budget(), entry.settings(), first);
  }
}
