package org.flotilla.raft.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.flotilla.raft.cluster.Configuration;
import org.flotilla.raft.cluster.Member;
import org.flotilla.raft.spi.HardState;
import org.flotilla.raft.spi.MetaStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The contract of {@link MetaStore}, written once and run against every implementation. A
 * subclass's {@link #open()} opens the store over the same storage each time it is called within
 * one test (empty at the first call).
 */
@Timeout(30)
public abstract class MetaStoreConformanceTest {

  /** The store under test. */
  protected MetaStore store;

  /**
   * Opens the store over this test's storage.
   *
   * @return the store
   * @throws Exception if it cannot be opened
   */
  protected abstract MetaStore open() throws Exception;

  @BeforeEach
  void openStore() throws Exception {
    store = open();
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  /**
   * Closes the store and opens it again over the same storage.
   *
   * @throws Exception if it cannot be reopened
   */
  protected void reopen() throws Exception {
    store.close();
    store = open();
  }

  @Test
  void newStoreLoadsTheInitialState() {
    assertThat(store.load()).isEqualTo(HardState.INITIAL);
  }

  @Test
  void loadReturnsWhatWasSaved() {
    store.save(new HardState(3, "n2"));
    assertThat(store.load()).isEqualTo(new HardState(3, "n2"));
    store.save(new HardState(4, ""));
    assertThat(store.load()).isEqualTo(new HardState(4, ""));
  }

  @Test
  void saveSurvivesReopen() throws Exception {
    store.save(new HardState(7, "node-7"));
    reopen();
    assertThat(store.load()).isEqualTo(new HardState(7, "node-7"));
  }

  @Test
  void theLastOfManySavesWinsAfterReopen() throws Exception {
    for (int term = 1; term <= 100; term++) {
      store.save(new HardState(term, term % 3 == 0 ? "" : "n" + term));
    }
    reopen();
    assertThat(store.load()).isEqualTo(new HardState(100, "n100"));
  }

  @Test
  void longIdsAndLargeTermsRoundTrip() throws Exception {
    String id = "a".repeat(30) + "-é-" + "z".repeat(30);
    store.save(new HardState(Long.MAX_VALUE, id));
    reopen();
    assertThat(store.load()).isEqualTo(new HardState(Long.MAX_VALUE, id));
  }

  private static final Configuration INITIAL =
      Configuration.of(
          List.of(
              Member.of("n1", "10.0.0.1:7000"),
              new Member("n2", "[::1]:7000", 7),
              Member.of("n3", "host-3.example:7000")),
          List.of(Member.of("l1", "10.0.0.9:7000")));

  @Test
  void newStoreHoldsNoInitialConfiguration() {
    assertThat(store.loadInitialConfiguration()).isEmpty();
  }

  @Test
  void initialConfigurationSurvivesReopenAndLaterHardStateSaves() throws Exception {
    store.save(new HardState(2, "n3"));
    store.saveInitialConfiguration(INITIAL);
    assertThat(store.loadInitialConfiguration()).contains(INITIAL);
    assertThat(store.load()).isEqualTo(new HardState(2, "n3"));
    store.save(new HardState(3, "n1"));
    reopen();
    assertThat(store.loadInitialConfiguration()).contains(INITIAL);
    assertThat(store.load()).isEqualTo(new HardState(3, "n1"));
  }

  @Test
  void theEmptyConfigurationOfAJoiningMemberRoundTrips() throws Exception {
    store.saveInitialConfiguration(Configuration.EMPTY);
    reopen();
    assertThat(store.loadInitialConfiguration()).contains(Configuration.EMPTY);
    assertThat(store.load()).isEqualTo(HardState.INITIAL);
  }

  @Test
  void savingTheInitialConfigurationAgainReplacesIt() throws Exception {
    store.saveInitialConfiguration(Configuration.EMPTY);
    store.saveInitialConfiguration(INITIAL);
    reopen();
    assertThat(store.loadInitialConfiguration()).contains(INITIAL);
  }

  /**
   * Saves that return before they are durable ({@link MetaStore#saveAsync}, {@link
   * MetaStore#saveInitialConfigurationAsync}) each tell once durable, in the order made, and what
   * they saved is what a reopen loads.
   */
  @Test
  void deferredSavesTellWhenDurableInOrderAndSurviveReopen() throws Exception {
    java.util.concurrent.LinkedBlockingQueue<String> told =
        new java.util.concurrent.LinkedBlockingQueue<>(8);
    store.saveInitialConfigurationAsync(INITIAL, () -> told.add("config"));
    store.saveAsync(new HardState(4, "n2"), () -> told.add("4"));
    store.saveAsync(new HardState(5, ""), () -> told.add("5"));
    List<String> order = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      order.add(told.poll(10, java.util.concurrent.TimeUnit.SECONDS));
    }
    assertThat(order).containsExactly("config", "4", "5");
    reopen();
    assertThat(store.loadInitialConfiguration()).contains(INITIAL);
    assertThat(store.load()).isEqualTo(new HardState(5, ""));
  }
}
