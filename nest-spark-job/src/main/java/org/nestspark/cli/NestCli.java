package org.nestspark.cli;
public final class NestCli { public static void main(String[] a) { } }
