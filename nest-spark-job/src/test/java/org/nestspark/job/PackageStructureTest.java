package org.nestspark.job;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package graph of both modules' main code, read from the compiled classes (ArchUnit): no package
 * cycle, and the layers follow the data flow (README "Layout"): {@code io} → {@code nemo} (file formats) →
 * {@code config} → {@code manifest}/{@code audio} → {@code tarred} → {@code data} → {@code features} →
 * {@code labels}/{@code ssl} → {@code batch} → {@code model} → {@code train} → {@code extract} → {@code
 * restore} (the {@code .nemo} ↔ checkpoint bridge) → {@code job} (Spark and the command line).
 */
class PackageStructureTest {
  private static JavaClasses main;

  @BeforeAll
  static void importMainClasses() {
    main =
        new ClassFileImporter()
            .withImportOption(PackageStructureTest::isMainCode)
            .importPackages("org.nestspark");
  }

  /** Main classes only: not test classes, whether from a folder or nest-model's test-jar. */
  private static boolean isMainCode(Location location) {
    return ImportOption.Predefined.DO_NOT_INCLUDE_TESTS.includes(location)
        && !location.contains("-tests.jar")
        && !location.contains("/test-classes/");
  }

  @Test
  void importedBothModules() {
    assertTrue(main.containPackage("org.nestspark.model.conformer"), "nest-model's classes");
    assertTrue(main.containPackage("org.nestspark.job.pretrain"), "nest-spark-job's classes");
    assertTrue(main.size() > 300, "classes imported: " + main.size());
  }

  @Test
  void noPackageCycles() {
    slices().matching("org.nestspark.(**)").should().beFreeOfCycles().check(main);
  }

  @Test
  void nestModelHasNoSparkAndNoJobCode() {
    noClasses()
        .that()
        .resideOutsideOfPackage("org.nestspark.job..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("org.nestspark.job..", "org.apache.spark..", "scala..")
        .check(main);
  }

  @Test
  void fileFormatsDependOnNothingAboveThem() {
    noClasses()
        .that()
        .resideInAnyPackage("org.nestspark.io..", "org.nestspark.nemo..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "org.nestspark.config..",
            "org.nestspark.audio..",
            "org.nestspark.data..",
            "org.nestspark.batch..",
            "org.nestspark.model..",
            "org.nestspark.train..",
            "org.nestspark.restore..")
        .check(main);
  }

  @Test
  void theGraphKnowsNothingOfBatchesTrainingOrNemoFiles() {
    noClasses()
        .that()
        .resideInAPackage("org.nestspark.model..")
        .and()
        .resideOutsideOfPackage("org.nestspark.model.bench..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "org.nestspark.batch..",
            "org.nestspark.ssl..",
            "org.nestspark.train..",
            "org.nestspark.restore..",
            "org.nestspark.nemo..")
        .check(main);
  }

  @Test
  void trainingDoesNotReachUpToTheNemoBridge() {
    noClasses()
        .that()
        .resideInAnyPackage("org.nestspark.train..", "org.nestspark.batch..", "org.nestspark.ssl..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("org.nestspark.restore..", "org.nestspark.extract..")
        .check(main);
  }
}
